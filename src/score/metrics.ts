import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Admin } from "../kernel/kafka/index.js";

export interface ScoreMetrics {
  batchSize: Histogram;
  featureSeconds: Histogram;
  modelSeconds: Histogram;
  commitSeconds: Histogram;
  e2eLatencySeconds: Histogram;
  findings: Counter<"alert_id">;
  dlq: Counter<"reason" | "code">;
  /** 1 while scoring waits for a dependency of our own (Redis) to answer again. */
  paused: Gauge<"dependency">;
  pauses: Counter<"dependency">;
  retractions: Counter;
  duplicates: Counter;
  scores: Histogram;
  anomalyRate: Gauge;
  batchFailures: Counter<"code">;
  observeScores(scores: ArrayLike<number>, anomalous: number, total: number): void;
}

/** Sliding window of the last `size` scored transactions for the anomaly-rate gauge. */
function slidingRate(size: number) {
  const buf = new Uint8Array(size);
  let n = 0;
  let idx = 0;
  let ones = 0;
  return {
    push(flag: boolean) {
      const v = flag ? 1 : 0;
      if (n === size) ones -= buf[idx]!;
      else n += 1;
      buf[idx] = v;
      ones += v;
      idx = (idx + 1) % size;
    },
    rate: () => (n === 0 ? 0 : ones / n),
  };
}

export function createScoreMetrics(
  registry: Registry,
  opts: { threshold: number; windowSize?: number },
): ScoreMetrics {
  const window = slidingRate(opts.windowSize ?? 10_000);
  const scores = new Histogram({
    name: "att_score_anomaly_score",
    help: "Normalized anomaly scores (abs(score_samples)) of scored transactions.",
    buckets: [0.3, 0.35, 0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.55, 0.6, 0.65, 0.7, 0.8],
    registers: [registry],
  });
  const m: ScoreMetrics = {
    batchSize: new Histogram({
      name: "att_score_batch_size",
      help: "Messages per processed batch (one model call, one Kafka transaction).",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    featureSeconds: new Histogram({
      name: "att_score_feature_seconds",
      help: "Time to compute a batch's features, enrichment included.",
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    modelSeconds: new Histogram({
      name: "att_score_model_seconds",
      help: "Time of one batch model call.",
      buckets: [0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: "att_score_commit_seconds",
      help: "Time to produce findings and commit the Kafka transaction with the offsets.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    e2eLatencySeconds: new Histogram({
      name: "att_score_e2e_latency_seconds",
      help: "From ingest (observedAt) to the committed finding.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    findings: new Counter({
      name: "att_score_findings_total",
      help: "Committed findings by alert id.",
      labelNames: ["alert_id"],
      registers: [registry],
    }),
    dlq: new Counter({
      name: "att_score_dlq_total",
      help: "Messages sent to the dead-letter topic by reason (malformed: refused as it came — not a TokenTransferTx, too large, another chain, a finding that cannot fit; poison: their chunk kept failing, see ATT_SCORE_POISON_ATTEMPTS) and error code.",
      labelNames: ["reason", "code"],
      registers: [registry],
    }),
    paused: new Gauge({
      name: "att_score_paused",
      help: "1 while scoring is paused because a dependency of ours (Redis) does not answer; nothing is written meanwhile.",
      labelNames: ["dependency"],
      registers: [registry],
    }),
    pauses: new Counter({
      name: "att_score_pauses_total",
      help: "Times scoring paused for a dependency that did not answer.",
      labelNames: ["dependency"],
      registers: [registry],
    }),
    retractions: new Counter({
      name: "att_score_retractions_total",
      help: "Transactions retracted after a reorg (removed: true).",
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "att_score_duplicates_total",
      help: "Messages skipped because they repeat a transaction already in their batch (same hash and block).",
      registers: [registry],
    }),
    scores,
    anomalyRate: new Gauge({
      name: "att_score_anomaly_rate",
      help: "Share of ANOMALOUS among the last 10,000 scored transactions.",
      registers: [registry],
      collect() {
        this.set(window.rate());
      },
    }),
    batchFailures: new Counter({
      name: "att_score_batch_failures_total",
      help: "Batches that failed and will be retried, by error code.",
      labelNames: ["code"],
      registers: [registry],
    }),
    observeScores(values, _anomalous, _total) {
      for (let i = 0; i < values.length; i++) {
        const s = values[i]!;
        scores.observe(s);
        window.push(s >= opts.threshold);
      }
    },
  };
  return m;
}

/**
 * Consumer lag per partition, computed at scrape time from the group's committed offsets and
 * the topic's high watermarks (no background polling).
 */
export function registerLagGauge(
  registry: Registry,
  opts: { admin: Admin; groupId: string; topic: string },
): Gauge<"partition"> {
  return new Gauge({
    name: "att_score_consumer_lag",
    help: "Messages between the group's committed offset and the high watermark, per partition.",
    labelNames: ["partition"],
    registers: [registry],
    async collect() {
      try {
        const [high, committed] = await Promise.all([
          opts.admin.fetchTopicOffsets(opts.topic),
          opts.admin.fetchOffsets({ groupId: opts.groupId, topics: [opts.topic] }),
        ]);
        const done = new Map<number, bigint>();
        for (const p of committed[0]?.partitions ?? [])
          done.set(p.partition, BigInt(p.offset === "-1" ? "0" : p.offset));
        this.reset();
        for (const p of high) {
          const lag = BigInt(p.high) - (done.get(p.partition) ?? BigInt(p.low));
          this.set({ partition: String(p.partition) }, Number(lag < 0n ? 0n : lag));
        }
      } catch {
        // Broker unreachable during a scrape: keep the last values rather than failing /metrics.
      }
    },
  });
}
