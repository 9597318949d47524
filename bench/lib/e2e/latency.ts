import type { Kafka, Producer } from "kafkajs";
import type { TokenTransferTx } from "../../../src/contracts/token-transfer-tx.js";
import { createTopicsReady } from "../../../src/kernel/kafka/index.js";
import { uniqueName } from "../../../test/helpers/names.js";
import type { Progress } from "../progress.js";
import type { RssSampler } from "../rss.js";
import { sleep } from "../../../src/kernel/shutdown.js";
import { followFindings } from "../findings.js";
import { summarize, type Summary } from "../stats.js";
import { freePort, scrapeBatchBreakdown, type BatchBreakdown } from "./metrics.js";
import { JOINED, spawnScorer, type ScorerOptions, type ScorerTarget } from "./scorers.js";

export interface LatencyResult {
  rate: number;
  /** Measured window (after the warm-up). */
  seconds: number;
  sent: number;
  received: number;
  /** Sent in the measured window but never seen committed within the drain timeout. */
  missing: number;
  /** Achieved send rate over the measured window. */
  sentPerS: number;
  /** observedAt → committed finding seen by a read_committed consumer (ms). */
  ms: Summary;
  warmup: { sent: number; ms: Summary };
}

/**
 * Steady traffic: `rate` transactions/s with fresh `observedAt` stamps (Date.now() when the
 * message is handed to the producer), first `warmupS` seconds not counted (a new owner opens
 * a transactional producer per partition on its first batch), then `seconds` measured. A
 * read_committed consumer of the findings topic stamps each finding on arrival.
 */
export async function steadyLatency(o: {
  kafka: Kafka;
  producer: Producer;
  transfers: string;
  findings: string;
  txs: TokenTransferTx[];
  rate: number;
  seconds: number;
  warmupS: number;
  progress: Progress;
  /** The transaction hash a record read back carries (default: a Forta finding's). */
  hashOf?: (value: Buffer) => string | undefined;
}): Promise<LatencyResult> {
  const hashOf =
    o.hashOf ??
    ((v: Buffer) =>
      (JSON.parse(v.toString()) as { source?: { transactions?: { hash: string }[] } }).source
        ?.transactions?.[0]?.hash);
  const stamped = new Map<string, { observedAt: number; measured: boolean }>();
  const latencies: number[] = [];
  const warm: number[] = [];
  let received = 0;

  const reader = await followFindings(o.kafka, o.findings, "bench-e2e-lat-reader", (value, at) => {
    const hash = hashOf(value);
    const s = hash ? stamped.get(hash) : undefined;
    if (!s) return;
    received += 1;
    (s.measured ? latencies : warm).push(at - s.observedAt);
    stamped.delete(hash!);
  });

  const total = Math.round(o.rate * (o.warmupS + o.seconds));
  if (o.txs.length < total) throw new Error(`latency phase needs ${total} transactions, got ${o.txs.length}`);
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupS * 1000;
  let sent = 0;
  let sentMeasured = 0;
  const sends: Promise<unknown>[] = [];
  let shown = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate) + 1);
    if (due > sent) {
      const measured = performance.now() >= measureFrom;
      const batch = o.txs.slice(sent, due).map((tx) => {
        const observedAt = Date.now();
        stamped.set(tx.txHash, { observedAt, measured });
        return { key: tx.from, value: JSON.stringify({ ...tx, observedAt }) };
      });
      if (measured) sentMeasured += batch.length;
      sent = due;
      sends.push(o.producer.send({ topic: o.transfers, messages: batch }));
      if (sends.length > 64) await Promise.all(sends.splice(0, sends.length));
    }
    if (performance.now() - shown >= 250) {
      shown = performance.now();
      o.progress.update(`${sent} / ${total} sent, ${received} findings read`);
    }
    await sleep(Math.max(1, 1000 / o.rate - 1));
  }
  await Promise.all(sends);
  const sendSeconds = (performance.now() - measureFrom) / 1000;
  const drainUntil = performance.now() + 60_000;
  while (stamped.size > 0 && performance.now() < drainUntil) {
    o.progress.update(`all ${sent} sent; waiting for ${stamped.size} findings`);
    await sleep(100);
  }
  await reader.disconnect();
  const missing = [...stamped.values()].filter((s) => s.measured).length;
  return {
    rate: o.rate,
    seconds: o.seconds,
    sent: sentMeasured,
    received,
    missing,
    sentPerS: sentMeasured / sendSeconds,
    ms: summarize(latencies),
    warmup: { sent: sent - sentMeasured, ms: summarize(warm) },
  };
}

/**
 * The baseline of the latency figures, measured in the same run at the same rate: one Kafka
 * hop — the producer writes the transactions to a fresh topic and a read_committed consumer
 * stamps them on arrival, with nothing in between. What the score stage adds is the rest.
 */
export async function kafkaHopLatency(o: {
  kafka: Kafka;
  partitions: number;
  txs: TokenTransferTx[];
  rate: number;
  seconds: number;
  warmupS: number;
  progress: Progress;
}): Promise<LatencyResult> {
  const topic = uniqueName("bench-e2e-hop");
  const admin = o.kafka.admin();
  // Its own producer: a kafkajs producer keeps refreshing the metadata of every topic it wrote
  // to, and fails its next send once one of them is deleted.
  const producer = o.kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    await createTopicsReady(admin, [{ topic, numPartitions: o.partitions }]);
    return await steadyLatency({
      ...o,
      producer,
      transfers: topic,
      findings: topic,
      hashOf: (v) => (JSON.parse(v.toString()) as { txHash?: string }).txHash,
    });
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** One `att score` joined to a fresh group on the latency topics, then `steadyLatency` through it. */
export async function latencyPhase(o: {
  kafka: Kafka;
  producer: Producer;
  target: ScorerTarget;
  txs: TokenTransferTx[];
  rate: number;
  seconds: number;
  warmupS: number;
  scorer: ScorerOptions;
  rss: RssSampler;
  progress: Progress;
  partitions: number;
}): Promise<{
  latency: LatencyResult;
  baseline: LatencyResult;
  batches: BatchBreakdown | undefined;
  peakRssMiB: number;
}> {
  o.progress.update("baseline: one Kafka hop at the same rate");
  const baseline = await kafkaHopLatency(o);
  const metricsPort = await freePort();
  const scorer = spawnScorer("e2e-score-latency", o.target, { ...o.scorer, metricsPort });
  o.rss.watch(scorer.pid, "e2e-score-latency");
  try {
    await scorer.waitFor(JOINED, 180_000);
    const latency = await steadyLatency({ ...o, transfers: o.target.transfers, findings: o.target.findings });
    const batches = await scrapeBatchBreakdown(metricsPort);
    o.rss.unwatch(scorer.pid);
    const peakRssMiB = o.rss.peaks().find((p) => p.pid === scorer.pid)?.peakMiB ?? Number.NaN;
    return { latency, baseline, batches, peakRssMiB };
  } finally {
    await scorer.stop("SIGTERM", 30_000);
  }
}
