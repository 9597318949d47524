import type { Batch } from "kafkajs";
import { errorCode } from "../../kernel/errors.js";
import type { Admin, Consumer, Kafka } from "../../kernel/kafka.js";
import type { Logger } from "../../kernel/logger.js";
import type { ScoreMetrics } from "./metrics.js";
import type { BatchProcessor, InputMessage } from "./processor.js";
import { openPartitionSink, type PartitionSink } from "./transactional-sink.js";

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export interface ScoreConsumerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: ScoreMetrics;
  process: BatchProcessor;
  topic: string;
  groupId: string;
  transactionalIdPrefix: string;
  batchMaxSize: number;
  partitionsConcurrently: number;
  maxBytesPerPartition: number;
  maxBytes: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fromBeginning: boolean;
  signal?: AbortSignal;
}

export interface ScoreConsumer {
  start(): Promise<void>;
  /** Finishes and commits the batch in flight, then leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** True once the consumer has joined the group. */
  isReady(): boolean;
  readonly admin: Admin;
}

/**
 * The score stage's consumer group. Per partition batch: split into chunks of at most
 * `batchMaxSize` messages; each chunk is processed (features, one model call, findings) and
 * committed together with its offsets in one Kafka transaction. Offsets advance only with the
 * findings they produced; a failure aborts the transaction and the chunk is re-read.
 *
 * Backpressure: kafkajs fetches the next batch only after `eachBatch` returns, and a fetch is
 * bounded by `maxBytesPerPartition`/`maxBytes`, so memory stays bounded whatever the backlog.
 */
export function createScoreConsumer(o: ScoreConsumerOptions): ScoreConsumer {
  const consumer: Consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs),
    maxBytesPerPartition: o.maxBytesPerPartition,
    maxBytes: o.maxBytes,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  const admin = o.kafka.admin();
  // Sinks are valid for one group generation: a rejoin may have moved partitions elsewhere and back.
  let generation = 0;
  const sinks = new Map<number, { sink: PartitionSink; generation: number }>();
  let joined = false;
  let stopping: Promise<void> | undefined;

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    generation += 1;
    joined = true;
    o.logger.info({
      msg: "Joined consumer group",
      group_id: o.groupId,
      generation,
      assignment: e.payload.memberAssignment,
    });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    o.logger.error({ msg: "Consumer crashed", err: e.payload.error, restart: e.payload.restart });
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

  return {
    admin,
    isReady: () => joined,
    async start() {
      await admin.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
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
            if (!isRunning() || isStale()) break;
            const chunk = messages.slice(i, i + o.batchMaxSize);
            try {
              const out = await o.process(
                chunk.map((m) => toInput(batch, m)),
                o.signal,
              );
              const last = chunk[chunk.length - 1]!;
              // After the batch's last chunk, commit past trailing transaction markers and aborted
              // records too (batch.lastOffset() counts them), so a caught-up group shows lag 0
              // behind a transactional producer such as `att ingest`.
              const isFinalChunk = i + o.batchMaxSize >= messages.length;
              const next = isFinalChunk
                ? maxBig(BigInt(last.offset), BigInt(batch.lastOffset())) + 1n
                : BigInt(last.offset) + 1n;
              const t0 = performance.now();
              await sink.commit(out.records, next);
              const committedAt = Date.now();
              o.metrics.commitSeconds.observe((performance.now() - t0) / 1000);
              resolveOffset(last.offset);
              o.metrics.batchSize.observe(chunk.length);
              o.metrics.featureSeconds.observe(out.featureSec);
              o.metrics.modelSeconds.observe(out.modelSec);
              for (const f of out.findings) o.metrics.findings.inc({ alert_id: f.alertId });
              o.metrics.dlq.inc(out.counts.dlq);
              o.metrics.retractions.inc(out.counts.retracted);
              o.metrics.observeScores(out.scores, out.counts.anomalous, out.scores.length);
              for (const t of out.observedAt)
                o.metrics.e2eLatencySeconds.observe(Math.max(0, committedAt - t) / 1000);
            } catch (err) {
              o.metrics.batchFailures.inc({ code: errorCode(err) });
              o.logger.warn({
                msg: "Batch failed; it will be re-read",
                partition: batch.partition,
                first_offset: chunk[0]!.offset,
                err,
              });
              // The sink may be fenced or broken: rebuild it (and re-read the committed offset) next time.
              const cur = sinks.get(batch.partition);
              sinks.delete(batch.partition);
              await cur?.sink.close().catch(() => undefined);
              throw err;
            }
            await heartbeat();
          }
        },
      });
    },
    stop() {
      stopping ??= (async () => {
        await consumer.disconnect();
        for (const { sink } of sinks.values()) await sink.close().catch(() => undefined);
        sinks.clear();
        await admin.disconnect();
      })();
      return stopping;
    },
  };
}
