import type { Admin, Kafka } from "kafkajs";
import { cpuMeter, stackProcesses } from "../cpu.js";
import { uniqueName } from "../../../test/helpers/names.js";
import { waitForCommitted } from "../kafka.js";
import type { Progress } from "../progress.js";
import type { RssSampler } from "../rss.js";
import { fmt } from "../table.js";
import { freePort, scrapeBatchBreakdown, type BatchBreakdown } from "./metrics.js";
import { JOINED, spawnScorer, type ScorerOptions, type ScorerTarget } from "./scorers.js";

export interface RawConsumeResult {
  messages: number;
  /** From the consumer's group join to the last message handed to eachBatch. */
  seconds: number;
  txPerS: number;
  joinMs: number;
}

/**
 * The baseline: a plain kafkajs consumer group reading the whole topic with the score stage's
 * fetch settings and doing nothing with the messages (no parsing, no commits).
 */
export async function rawConsume(
  kafka: Kafka,
  topic: string,
  high: Map<number, bigint>,
  o: { maxBytesPerPartition: number; maxBytes: number; partitionsConcurrently: number; progress: Progress },
): Promise<RawConsumeResult> {
  const consumer = kafka.consumer({
    groupId: uniqueName("bench-e2e-raw"),
    maxBytesPerPartition: o.maxBytesPerPartition,
    maxBytes: o.maxBytes,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
  });
  const t0 = performance.now();
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ||= performance.now()));
  const target = [...high.values()].reduce((a, b) => a + b, 0n);
  const remaining = new Map([...high].filter(([, h]) => h > 0n));
  let seen = 0;
  let doneAt = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: o.partitionsConcurrently,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        const last = BigInt(batch.lastOffset()) + 1n;
        if (last >= (remaining.get(batch.partition) ?? 0n)) remaining.delete(batch.partition);
        o.progress.update(`${seen.toLocaleString("en-US")} / ${target.toLocaleString("en-US")} messages`);
        if (remaining.size === 0 && !doneAt) {
          doneAt = performance.now();
          resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  const seconds = (doneAt - joinedAt) / 1000;
  return { messages: seen, seconds, txPerS: Number(target) / seconds, joinMs: joinedAt - t0 };
}

export interface ScorerRunResult {
  processes: number;
  /** Spawn to "Joined consumer group", per process (ms). */
  startupMs: number[];
  /** From the first process's join until the committed offsets reached the high watermarks. */
  seconds: number;
  txPerS: number;
  /** With several processes: the rate from the last join (as far as the group had got then) to done. */
  txPerSAllJoined?: number;
  peakRssMiB: number[];
  logFiles: string[];
  /** Per-batch means from each process's own metrics. */
  batches: (BatchBreakdown | undefined)[];
  /** CPU seconds from the first join to done: each att score process, the Kafka broker, Redis. */
  cpu: { label: string; seconds: number }[];
}

/**
 * `processes` × `att score` in a fresh consumer group over the pre-filled topic: the clock runs
 * from the first join until the group's committed offsets (committed together with their
 * findings, in Kafka transactions) reach the topic's high watermarks.
 */
export async function runScorers(
  admin: Admin,
  target: ScorerTarget,
  total: bigint,
  o: ScorerOptions & { processes: number; progress: Progress; rss: RssSampler; label: string },
): Promise<ScorerRunResult> {
  const ports = await Promise.all(Array.from({ length: o.processes }, () => freePort()));
  const scorers = ports.map((metricsPort, i) =>
    spawnScorer(`${o.label}-${i + 1}`, target, { ...o, metricsPort }),
  );
  for (const s of scorers) o.rss.watch(s.pid, `${o.label}-${s.pid}`);
  try {
    const joins = scorers.map((s) => s.waitFor(JOINED, 180_000));
    const firstJoin = await Promise.race(joins);
    const meter = cpuMeter([
      ...scorers.map((s, i) => ({ label: `att score #${i + 1}`, pid: s.pid ?? -1 })),
      ...stackProcesses(),
    ]);
    meter.start();
    // With several processes: how far the group had got when the last one joined.
    let latest = { at: firstJoin, c: 0n };
    let allJoined: { at: number; c: bigint } | undefined;
    void Promise.all(joins).then(
      () => (allJoined = { ...latest }),
      () => undefined,
    );
    let last = { at: firstJoin, c: 0n };
    const doneAt = await waitForCommitted(admin, target.group, target.transfers, total, {
      timeoutMs: 900_000,
      onPoll: (c) => {
        const now = performance.now();
        latest = { at: now, c };
        if (now - last.at >= 1000) {
          const rate = Number(c - last.c) / ((now - last.at) / 1000);
          last = { at: now, c };
          o.progress.update(
            `${c.toLocaleString("en-US")} / ${total.toLocaleString("en-US")} committed, ${fmt(rate)} tx/s now`,
          );
        }
      },
      failIf: () => {
        const dead = scorers.find((s) => s.child.exitCode !== null);
        return dead ? `${dead.name} exited with ${dead.child.exitCode} (log: ${dead.logFile})` : undefined;
      },
    });
    const cpu = meter.stop();
    const joinedAt = await Promise.all(joins);
    const seconds = (doneAt - firstJoin) / 1000;
    for (const s of scorers) o.rss.unwatch(s.pid);
    const batches = await Promise.all(ports.map((p) => scrapeBatchBreakdown(p)));
    const peaks = o.rss.peaks();
    return {
      processes: o.processes,
      startupMs: joinedAt.map((at, i) => at - scorers[i]!.startedAt),
      seconds,
      txPerS: Number(total) / seconds,
      ...(o.processes > 1 && allJoined && allJoined.c < total
        ? { txPerSAllJoined: Number(total - allJoined.c) / ((doneAt - allJoined.at) / 1000) }
        : {}),
      peakRssMiB: scorers.map((s) => peaks.find((p) => p.pid === s.pid)?.peakMiB ?? Number.NaN),
      logFiles: scorers.map((s) => s.logFile),
      batches,
      cpu,
    };
  } finally {
    await Promise.all(scorers.map((s) => s.stop("SIGTERM", 30_000)));
  }
}
