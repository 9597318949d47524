import { errorCode, NonRetryableError } from "../kernel/errors.js";
import { kafkaErrorInfo, type Admin, type Batch, type Consumer, type Kafka } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import type { ScoreMetrics } from "./metrics.js";
import type { RoutedMessage } from "../sink/router.js";
import { dlqMessage, type BatchOutcome, type BatchProcessor, type InputMessage } from "./processor.js";
import { createPauseGate, infrastructureCause, type DependencyProbe, type WaitContext } from "./pause.js";
import { PoisonTracker, poisonCause, stageOf, tagStage, type PoisonCause } from "./poison.js";
import { recordLimits, type RecordLimits } from "../sink/limits.js";
import { openPartitionSink, type PartitionSink } from "../sink/transactional-sink.js";

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Heartbeat answers that mean this member must rejoin: a rebalance started, or it was dropped. */
const GROUP_CHANGED = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR_FOR_GROUP",
]);

/**
 * Heartbeats every `intervalMs` while a batch is processed. kafkajs heartbeats only from its
 * fetch loop or when eachBatch calls `heartbeat()`, so a chunk that waits longer than the session
 * timeout (slow enrichment, a broker that is slow to commit) would get a healthy replica expelled
 * and its partitions moved mid-batch. The timer needs the event loop: a process blocked for a
 * whole session timeout (a pause that long) is expelled, as it should be.
 *
 * `onGroupChange` gets the heartbeat's error once it says a rebalance started (a replica joined or
 * left) or this member was dropped; anything else (a lost connection) surfaces at the heartbeat
 * after the chunk. Returns the timer's stop.
 */
function keepHeartbeating(
  heartbeat: () => Promise<void>,
  intervalMs: number,
  onGroupChange: (err: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    heartbeat().catch((err: unknown) => {
      if (isGroupChange(err)) onGroupChange(err);
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function isGroupChange(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === "string" && GROUP_CHANGED.has(type);
}

/**
 * What eachBatch throws after a failed chunk. kafkajs stops a consumer for good (CRASH with
 * restart: false) when eachBatch throws an error it deems non-retriable — a broker refusal such
 * as MESSAGE_TOO_LARGE or PRODUCER_FENCED, or a TypeError — leaving a live process that
 * consumes nothing. Marked retriable, the chunk is re-read after a backoff or, once kafkajs's
 * retries are spent, the consumer restarts and rejoins; the poison tracker ends repeats that are
 * the message's own fault.
 */
/**
 * The last resort failed: the broker refused even the size-capped DLQ record of a poison
 * message. The partition cannot move past that offset without losing the message, so the
 * process stops (exit 1) rather than re-read it forever; the offset is in the message.
 */
export class DlqUnwritableError extends NonRetryableError {
  readonly code = "ATT_DLQ_UNWRITABLE";
}

class BatchFailedError extends Error {
  readonly retriable = true;
  constructor(readonly original: unknown) {
    super(`Batch failed, to be re-read: ${original instanceof Error ? original.message : String(original)}`);
    this.name = "BatchFailedError";
  }
}

export interface ScoreConsumerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: ScoreMetrics;
  process: BatchProcessor;
  topic: string;
  groupId: string;
  transactionalIdPrefix: string;
  batchMaxSize: number;
  /** Consecutive message-caused failures of a chunk before it is processed one message at a time. */
  poisonAttempts: number;
  dlqTopic: string;
  partitionsConcurrently: number;
  maxBytesPerPartition: number;
  maxBytes: number;
  /** How long the group waits for a replica that stopped heartbeating before moving its partitions. */
  sessionTimeoutMs: number;
  /** Heartbeats go out this often, also while a chunk is processed (see `keepHeartbeating`). */
  heartbeatIntervalMs: number;
  /** How long a rebalance waits for every replica to finish its chunk in flight and rejoin. */
  rebalanceTimeoutMs: number;
  fromBeginning: boolean;
  signal?: AbortSignal;
  /** Called if the consumer stops for good anyway (kafkajs gave up): the process should exit. */
  onFatal?: (err: unknown) => void;
  /** What fits in one record per output topic (read from the broker at start-up). */
  limits?: RecordLimits;
  /** Our own dependencies (Redis) the stage waits for when they do not answer, instead of writing verdicts. */
  probes?: DependencyProbe[];
}

export interface ScoreConsumer {
  start(): Promise<void>;
  /** Finishes and commits the batch in flight, then leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** True once the consumer has joined the group, while it is not paused and has not failed for good. */
  isReady(): boolean;
  readonly admin: Admin;
}

/**
 * The score stage's consumer group. Per partition batch: split into chunks of at most
 * `batchMaxSize` messages; each chunk is processed (features, one model call, findings) and
 * committed together with its offsets in one Kafka transaction. Offsets advance only with the
 * findings they produced; a failure aborts the transaction and the chunk is re-read.
 *
 * Poison (src/score/poison.ts): a chunk that keeps failing for a reason that can be a
 * message's own is, after `poisonAttempts` failures, processed one message at a time, and the
 * message that still fails is dead-lettered with the reason instead of stopping the partition.
 *
 * Backpressure: kafkajs fetches the next batch only after `eachBatch` returns, and a fetch is
 * bounded by `maxBytesPerPartition`/`maxBytes`, so memory stays bounded whatever the backlog.
 */
export function createScoreConsumer(o: ScoreConsumerOptions): ScoreConsumer {
  const consumer: Consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    rebalanceTimeout: o.rebalanceTimeoutMs,
    maxBytesPerPartition: o.maxBytesPerPartition,
    maxBytes: o.maxBytes,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  const admin = o.kafka.admin();
  // A partition's sink (its transactional producer) is kept while the partition stays assigned
  // here across rebalances, so that a rebalance does not start a fresh producer for every
  // partition of every replica (InitProducerId and an offset fetch each, before the first batch).
  // If the partition was owned elsewhere in between (this replica was expelled and got it back),
  // that owner fenced the kept producer: its next commit fails, the chunk is re-read and the sink
  // is opened again (the new owner's rule: fence first, then read the committed offset).
  let generation = 0;
  /**
   * Set once a heartbeat (of any partition's batch) says the group is rebalancing, cleared by the
   * next join. kafkajs rejoins only after every batch of the current fetch has been handled, so
   * while it is set, batches stop after their chunk in flight and batches not started yet return
   * unprocessed (they are fetched again after the rejoin): the rebalance waits for one chunk per
   * partition in flight, not for the whole fetch.
   */
  let groupChange: unknown;
  const sinks = new Map<number, { sink: PartitionSink; generation: number }>();
  let joined = false;
  let stopping: Promise<void> | undefined;
  const poison = new PoisonTracker(o.poisonAttempts);
  const limits = o.limits ?? recordLimits(new Map());
  const gate = createPauseGate({ probes: o.probes ?? [], logger: o.logger, metrics: o.metrics });
  let fatal: unknown;
  const stopController = new AbortController();

  consumer.on("group-join", (e) => {
    generation += 1;
    joined = true;
    groupChange = undefined;
    const mine = new Set(e.memberAssignment[o.topic] ?? []);
    for (const [partition, cur] of sinks) {
      if (mine.has(partition)) cur.generation = generation;
      else {
        sinks.delete(partition);
        void cur.sink.close().catch(() => undefined);
      }
    }
    o.logger.info({
      msg: "Joined consumer group",
      group_id: o.groupId,
      generation,
      assignment: e.memberAssignment,
    });
  });
  consumer.on("crash", (e) => {
    // A crash kafkajs restarts from (e.g. its retries ran out during a long broker outage) needs no action.
    (e.restart ? o.logger.warn : o.logger.error).call(o.logger, {
      msg: "Consumer crashed",
      err: e.error,
      restart: e.restart,
    });
    if (!e.restart && !stopping) o.onFatal?.(e.error);
  });

  async function sinkFor(partition: number): Promise<PartitionSink> {
    const cur = sinks.get(partition);
    if (cur && cur.generation === generation) return cur.sink;
    if (cur) await cur.sink.close().catch(() => undefined);
    sinks.delete(partition);
    const sink = await openPartitionSink({
      kafka: o.kafka,
      admin,
      logger: o.logger,
      groupId: o.groupId,
      topic: o.topic,
      partition,
      transactionalIdPrefix: o.transactionalIdPrefix,
      minMessageBytes: limits.minMessageBytes,
    });
    sinks.set(partition, { sink, generation });
    return sink;
  }

  function toInput(batch: Batch, m: Batch["messages"][number]): InputMessage {
    return {
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      timestamp: m.timestamp,
      key: m.key ?? null,
      value: m.value ?? null,
    };
  }

  function recordCommitted(out: BatchOutcome, size: number, commitSec: number, committedAt: number) {
    o.metrics.commitSeconds.observe(commitSec);
    o.metrics.batchSize.observe(size);
    o.metrics.featureSeconds.observe(out.featureSec);
    o.metrics.modelSeconds.observe(out.modelSec);
    // Counted per alert id first: one labelled increment per id, not one per finding.
    const byAlert = new Map<string, number>();
    for (const f of out.findings) byAlert.set(f.alertId, (byAlert.get(f.alertId) ?? 0) + 1);
    for (const [alertId, n] of byAlert) o.metrics.findings.inc({ alert_id: alertId }, n);
    const c = out.counts;
    for (const [code, n] of out.dlqCodes) o.metrics.dlq.inc({ reason: "malformed", code }, n);
    if (c.retracted) o.metrics.retractions.inc(c.retracted);
    if (c.duplicates) o.metrics.duplicates.inc(c.duplicates);
    o.metrics.observeScores(out.scores, c.anomalous, out.scores.length);
    for (const t of out.observedAt) o.metrics.e2eLatencySeconds.observe(Math.max(0, committedAt - t) / 1000);
  }

  // MODEL-DRIFT records of batches whose commit failed: their rows are not observed again when
  // the batch is re-read, so the next commit on any partition carries them.
  const driftCarry: RoutedMessage[] = [];

  async function processAndCommit(sink: PartitionSink, inputs: InputMessage[], next: bigint): Promise<void> {
    let out: BatchOutcome;
    try {
      out = await o.process(inputs, o.signal);
    } catch (err) {
      throw tagStage(err, "process");
    }
    const carried = driftCarry.splice(0);
    const t0 = performance.now();
    try {
      await sink.commit(carried.length ? [...carried, ...out.records] : out.records, next);
    } catch (err) {
      driftCarry.push(...carried, ...out.driftRecords);
      throw tagStage(err, "commit");
    }
    recordCommitted(out, inputs.length, (performance.now() - t0) / 1000, Date.now());
  }

  /**
   * A chunk that kept failing, one message per transaction; a message that still fails goes to
   * the DLQ. Resolves false if it stopped early (the consumer stops, the partition moved, or the
   * last resort failed); what it committed so far stays committed and is not read again.
   */
  async function isolate(
    sink: PartitionSink,
    inputs: InputMessage[],
    next: bigint,
    ctx: WaitContext,
  ): Promise<boolean> {
    o.logger.warn({
      msg: "Chunk kept failing: processing it one message at a time",
      partition: inputs[0]!.partition,
      first_offset: inputs[0]!.offset,
      messages: inputs.length,
    });
    for (let k = 0; k < inputs.length; k++) {
      const m = inputs[k]!;
      const upTo = k === inputs.length - 1 ? next : BigInt(m.offset) + 1n;
      let poisoned: PoisonCause | undefined;
      const done = await processUntilDone(async () => {
        try {
          await processAndCommit(sink, [m], upTo);
        } catch (err) {
          poisoned = poisonCause(err, stageOf(err));
          if (!poisoned) throw err;
        }
      }, ctx);
      if (!done) return false;
      if (poisoned) {
        try {
          await sink.commit([dlqMessage(m, poisoned, o.dlqTopic, limits)], upTo);
        } catch (dlqErr) {
          if (!poisonCause(dlqErr, "commit")) throw dlqErr;
          failForGood(
            new DlqUnwritableError(
              `The broker refused the DLQ record of partition ${m.partition} offset ${m.offset}; stopping instead of re-reading it forever`,
              {
                cause: dlqErr,
                details: [
                  `Poison reason: ${poisoned.code}: ${poisoned.message.slice(0, 300)}`,
                  `Fix: raise max.message.bytes of ${o.dlqTopic} (the record is capped to the limit read at start-up; was it lowered since?), or move the group past the offset with att replay`,
                ],
              },
            ),
          );
          return false;
        }
        o.metrics.dlq.inc({ reason: "poison", code: poisoned.code });
        o.logger.error({
          msg: "Poison message dead-lettered",
          partition: m.partition,
          offset: m.offset,
          dlq_topic: o.dlqTopic,
          code: poisoned.code,
          reason: poisoned.message,
        });
      }
      await ctx.heartbeat();
    }
    return true;
  }

  /** Marks the consumer not ready, says exactly where it stopped, and lets the process exit non-zero. */
  function failForGood(err: DlqUnwritableError): void {
    if (fatal) return;
    fatal = err;
    o.logger.error({ msg: "Score consumer cannot continue", code: err.code, err });
    o.onFatal?.(err);
  }

  /**
   * One chunk: processed and committed, or, if our own infrastructure did not answer, the same
   * chunk again once it does (see pause.ts). Resolves false if the wait ended because the consumer
   * stops or the partition was taken away: nothing was committed, the next owner re-reads it.
   */
  async function processUntilDone(run: () => Promise<void>, ctx: WaitContext): Promise<boolean> {
    for (;;) {
      try {
        await run();
        return true;
      } catch (err) {
        const infra = stageOf(err) === "process" ? infrastructureCause(err) : undefined;
        if (!infra) throw err;
        if (!(await gate.waitFor(infra, ctx))) return false;
      }
    }
  }

  /** One fetched batch of one partition, chunk by chunk, until it ends or the batch stops. */
  async function consumeBatch(
    batch: Batch,
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
    owned: () => boolean,
  ): Promise<void> {
    const current = () => owned() && groupChange === undefined;
    const active = () => current() && !stopController.signal.aborted && !fatal;
    // A batch fetched before a rebalance took its partition away must not open a producer that
    // would fence the new owner's.
    if (!current()) return;
    const sink = await sinkFor(batch.partition);
    let messages = batch.messages;
    // Skip what a previous owner already committed (see openPartitionSink).
    const skip = messages.filter((m) => BigInt(m.offset) < sink.committedOffset);
    if (skip.length > 0) {
      o.logger.info({
        msg: "Skipping messages committed by the previous owner",
        partition: batch.partition,
        count: skip.length,
      });
      resolveOffset(skip[skip.length - 1]!.offset);
      messages = messages.slice(skip.length);
    }
    for (let i = 0; i < messages.length; i += o.batchMaxSize) {
      if (!current()) break;
      const chunk = messages.slice(i, i + o.batchMaxSize);
      const inputs = chunk.map((m) => toInput(batch, m));
      const last = chunk[chunk.length - 1]!;
      // After the batch's last chunk, commit past trailing transaction markers and aborted
      // records too (batch.lastOffset() counts them), so a caught-up group shows lag 0
      // behind a transactional producer such as `att ingest`.
      const isFinalChunk = i + o.batchMaxSize >= messages.length;
      const next = isFinalChunk
        ? maxBig(BigInt(last.offset), BigInt(batch.lastOffset())) + 1n
        : BigInt(last.offset) + 1n;
      try {
        const ctx = { heartbeat, active };
        const isolating = poison.shouldIsolate(batch.partition, chunk[0]!.offset);
        const done = isolating
          ? await isolate(sink, inputs, next, ctx)
          : await processUntilDone(() => processAndCommit(sink, inputs, next), ctx);
        if (!done || fatal) break;
        if (isolating) poison.clear(batch.partition);
        resolveOffset(last.offset);
      } catch (err) {
        o.metrics.batchFailures.inc({ code: errorCode(err) });
        const strikes = poisonCause(err, stageOf(err))
          ? poison.strike(batch.partition, chunk[0]!.offset)
          : undefined;
        // A lost broker connection is reported once by the client (kernel/kafka/log.ts); the re-read needs no action.
        (kafkaErrorInfo(err)?.kind === "connection" ? o.logger.info : o.logger.warn).call(o.logger, {
          msg: "Batch failed; it will be re-read",
          partition: batch.partition,
          first_offset: chunk[0]!.offset,
          ...(strikes !== undefined
            ? { consecutive_failures: strikes, isolate_after: o.poisonAttempts }
            : {}),
          err,
        });
        // The sink may be fenced or broken: rebuild it (and re-read the committed offset) next time.
        const cur = sinks.get(batch.partition);
        sinks.delete(batch.partition);
        await cur?.sink.close().catch(() => undefined);
        throw new BatchFailedError(err);
      }
      if (groupChange === undefined) await heartbeat();
    }
  }

  return {
    admin,
    isReady: () => joined && !gate.paused && fatal === undefined,
    async start() {
      await admin.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (fatal) return;
          if (groupChange !== undefined) throw groupChange;
          // An answer that comes back after the next join is about the old generation: ignored.
          const gen = generation;
          const stopBeats = keepHeartbeating(heartbeat, o.heartbeatIntervalMs, (err) => {
            if (generation === gen) groupChange ??= err;
          });
          try {
            await consumeBatch(batch, resolveOffset, heartbeat, () => isRunning() && !isStale());
          } catch (err) {
            if (isGroupChange(err)) groupChange ??= err;
            throw err;
          } finally {
            stopBeats();
          }
          if (groupChange !== undefined) throw groupChange;
        },
      });
    },
    stop() {
      stopping ??= (async () => {
        stopController.abort();
        await consumer.disconnect();
        for (const { sink } of sinks.values()) await sink.close().catch(() => undefined);
        sinks.clear();
        await admin.disconnect();
      })();
      return stopping;
    },
  };
}
