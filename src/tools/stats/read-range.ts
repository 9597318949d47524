import { randomBytes } from "node:crypto";
import { NonRetryableError } from "../../kernel/errors.js";
import { fetchHighWatermarks, type Admin, type Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";
import { sleep } from "../../kernel/shutdown.js";

export class TopicNotFoundError extends NonRetryableError {
  readonly code = "ATT_TOPIC_NOT_FOUND";
}

export interface RangeMessage {
  /**
   * False for a record stamped in the grace period after `toMs`: only its tombstones matter
   * (a retraction of a finding inside the range, written just after it ended).
   */
  inRange: boolean;
  partition: number;
  offset: string;
  /** Kafka record timestamp (ms). */
  timestamp: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface PartitionRange {
  partition: number;
  /** First offset at or after `fromMs`. */
  start: string;
  /**
   * Last stable offset when reading began (after waiting for the transactions open at the start
   * to end): reading never goes beyond it.
   */
  end: string;
  /** Where reading stopped: `end`, or the offset after the first record past the range. */
  reached: string;
  /** True when the partition was read to its end or past the range. */
  done: boolean;
}

export interface RangeProgress {
  read: number;
  /** Estimated records in the range (offsets between the time-index positions of from and to). */
  total: number;
}

export interface ReadRangeResult {
  partitions: PartitionRange[];
  read: number;
  /** False when the idle timeout stopped reading before every partition reached its end. */
  complete: boolean;
  /**
   * Partitions where a transaction open when reading began was still open after the wait:
   * the records from `stableOffset` to `highWatermark` were not read.
   */
  openTransactions: OpenTransaction[];
}

export interface OpenTransaction {
  partition: number;
  stableOffset: string;
  highWatermark: string;
}

/** How often the last stable offsets are listed again while waiting for open transactions. */
const STABLE_POLL_MS = 200;

/**
 * How far past `toMs` a partition is read before it is considered finished: records of one
 * partition are written by whichever score replica owns it, so their timestamps can step back
 * by the clock skew between replicas after a rebalance.
 */
export const CLOCK_SKEW_GRACE_MS = 60_000;

/**
 * Reads every record of `topic` whose timestamp lies in [fromMs, toMs) (Kafka record time: when
 * the finding was written). Per partition: from `fetchTopicOffsetsByTimestamp(fromMs)` — the
 * earliest offset at or after that time, so no record of the range lies before it — until a
 * record stamped at or after `toMs` + CLOCK_SKEW_GRACE_MS (records of that grace period come
 * with `inRange: false`), or the last stable offset when
 * reading began (read_committed: aborted findings and transaction markers are never seen).
 * Records written before reading began but still behind an open transaction (the last stable
 * offset stops at an open transaction's first record, and a commit or abort marker is written
 * shortly after the producer's commit call returns) are waited for, at most `stableWaitMs`;
 * partitions still held back after that are returned in `openTransactions`.
 * The offset of `toMs` is not used as the end: a transaction's commit marker carries the
 * broker's time, so for findings written with earlier timestamps (a replay) the time index
 * points at the marker, before records that are still in the range.
 *
 * A throw-away consumer group with no committed offsets is used and deleted afterwards; it
 * seeks each partition on join, before the first fetch.
 */
export async function readTopicRange(
  kafka: Kafka,
  opts: {
    topic: string;
    fromMs: number;
    toMs: number;
    onMessage: (m: RangeMessage) => void;
    onProgress?: (p: RangeProgress) => void;
    idleTimeoutMs?: number;
    /** Longest wait for transactions open when reading began (default 10 s). */
    stableWaitMs?: number;
    logger: Logger;
    signal?: AbortSignal;
  },
): Promise<ReadRangeResult> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `att-stats-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(opts.topic)) {
      throw new TopicNotFoundError(`Topic "${opts.topic}" does not exist`, {
        details: ["Fix: pass the findings topic with --topic, or set ATT_TOPIC_FINDINGS."],
      });
    }
    const { watermarks, openTransactions } = await waitForStableOffsets(kafka, admin, opts);
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(opts.topic, opts.fromMs),
      admin.fetchTopicOffsetsByTimestamp(opts.topic, opts.toMs),
    ]);
    const ranges = new Map<number, { start: bigint; end: bigint; pos: bigint; done: boolean }>();
    let total = 0;
    for (const w of watermarks) {
      const low = BigInt(w.low);
      const high = BigInt(w.high);
      const s = BigInt(starts.find((x) => x.partition === w.partition)?.offset ?? w.high);
      const start = s < low ? low : s > high ? high : s;
      const estEnd = BigInt(ends.find((x) => x.partition === w.partition)?.offset ?? w.high);
      if (estEnd > start) total += Number((estEnd > high ? high : estEnd) - start);
      ranges.set(w.partition, { start, end: high, pos: start, done: start >= high });
    }
    let read = 0;
    const summary = (): PartitionRange[] =>
      [...ranges.entries()]
        .sort(([a], [b]) => a - b)
        .map(([partition, r]) => ({
          partition,
          start: String(r.start),
          end: String(r.end),
          reached: String(r.pos > r.end ? r.end : r.pos),
          done: r.done,
        }));
    const isDone = () => [...ranges.values()].every((r) => r.done);
    opts.onProgress?.({ read, total });
    if (isDone()) return { partitions: summary(), read, complete: true, openTransactions };

    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    let finish!: (complete: boolean) => void;
    let fail!: (err: unknown) => void;
    const finished = new Promise<boolean>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let lastProgress = Date.now();
    let joined = false;
    const stop = (partition: number) => {
      const r = ranges.get(partition);
      if (!r || r.done) return;
      r.done = true;
      consumer.pause([{ topic: opts.topic, partitions: [partition] }]);
      if (isDone()) finish(true);
    };
    const advance = (partition: number, lastOffset: string | null | undefined) => {
      const r = ranges.get(partition);
      if (!r || r.done || lastOffset == null) return;
      const next = BigInt(lastOffset) + 1n;
      if (next > r.pos && next > r.start) {
        r.pos = next;
        lastProgress = Date.now();
      }
      if (r.pos >= r.end) stop(partition);
    };

    consumer.on("group-join", () => {
      joined = true;
      lastProgress = Date.now();
      for (const [partition, r] of ranges) {
        if (!r.done) consumer.seek({ topic: opts.topic, partition, offset: String(r.pos) });
        else consumer.pause([{ topic: opts.topic, partitions: [partition] }]);
      }
    });
    // Also fires for batches made only of transaction markers or aborted records, which never
    // reach eachBatch: without it a range ending in a commit marker would never look finished.
    consumer.on("batch-end", (e) => advance(e.partition, e.lastOffset));
    consumer.on("crash", (e) => {
      if (!e.restart) fail(e.error);
    });
    const onAbort = () => finish(false);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const idle = setInterval(() => {
      if (Date.now() - lastProgress > (opts.idleTimeoutMs ?? 30_000)) finish(false);
    }, 250);

    // Not awaited in line: a join that never completes must still end at the idle timeout.
    const running = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const r = ranges.get(batch.partition);
          if (!r || r.done) return;
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < r.start || off >= r.end) continue;
            const ts = Number(m.timestamp);
            if (ts >= opts.toMs + CLOCK_SKEW_GRACE_MS) {
              r.pos = off + 1n;
              stop(batch.partition);
              break;
            }
            read += 1;
            if (ts < opts.fromMs) continue;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
            opts.onMessage({
              partition: batch.partition,
              offset: m.offset,
              inRange: ts < opts.toMs,
              timestamp: ts,
              key: m.key ? m.key.toString("utf8") : null,
              value: m.value ?? null,
              headers,
            });
          }
          opts.onProgress?.({ read, total });
        },
      });
    })();
    running.catch(fail);

    try {
      const complete = await finished;
      if (!complete && opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
      if (!complete) {
        opts.logger.warn({
          msg: joined
            ? "Stopped reading: no progress within the idle timeout"
            : "Stopped reading: could not join a consumer group within the idle timeout",
          topic: opts.topic,
          idle_timeout_ms: opts.idleTimeoutMs ?? 30_000,
          partitions: summary().filter((p) => !p.done),
        });
      }
      return { partitions: summary(), read, complete, openTransactions };
    } finally {
      clearInterval(idle);
      opts.signal?.removeEventListener("abort", onAbort);
      await withDeadline(consumer.disconnect(), 10_000);
      await withDeadline(admin.deleteGroups([groupId]), 10_000);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * The last stable offset of every partition, once it has reached the high watermark listed
 * when reading began, or after `stableWaitMs` with the partitions still held back.
 */
async function waitForStableOffsets(
  kafka: Kafka,
  admin: Admin,
  opts: { topic: string; stableWaitMs?: number; logger: Logger; signal?: AbortSignal },
): Promise<{
  watermarks: Awaited<ReturnType<Admin["fetchTopicOffsets"]>>;
  openTransactions: OpenTransaction[];
}> {
  const highs = await fetchHighWatermarks(kafka, opts.topic);
  const waitMs = opts.stableWaitMs ?? 10_000;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const watermarks = await admin.fetchTopicOffsets(opts.topic);
    const openTransactions = watermarks
      .filter((w) => BigInt(w.high) < (highs.get(w.partition) ?? 0n))
      .map((w) => ({
        partition: w.partition,
        stableOffset: w.high,
        highWatermark: String(highs.get(w.partition)),
      }));
    if (openTransactions.length === 0 || Date.now() >= deadline || opts.signal?.aborted) {
      if (openTransactions.length > 0) {
        opts.logger.warn({
          msg: "Transactions still open: records behind them are not read",
          topic: opts.topic,
          waited_ms: waitMs,
          partitions: openTransactions,
        });
      }
      return { watermarks, openTransactions };
    }
    await sleep(STABLE_POLL_MS);
  }
}

/** Waits for a cleanup step at most `ms`; its failure or slowness must not hide the result. */
async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
