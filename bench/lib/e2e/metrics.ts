import { createServer } from "node:net";

/** A TCP port nobody listens on right now (for a scorer's /metrics). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Per-batch means from a scorer's own histograms: where a batch's time goes. */
export interface BatchBreakdown {
  batches: number;
  meanBatchSize: number;
  featureMs: number;
  modelMs: number;
  commitMs: number;
  /** Share of Kafka transactions that took longer than 100 ms / 250 ms (histogram buckets). */
  commitsOver100ms: number;
  commitsOver250ms: number;
  /** The scorer's own observedAt → commit latency: share of transactions over 100 ms / 250 ms. */
  scorerLatencyOver100ms: number;
  scorerLatencyOver250ms: number;
}

function histogram(text: string, name: string): { sum: number; count: number } {
  const num = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  return { sum: num("sum"), count: num("count") };
}

function bucket(text: string, name: string, le: string): number {
  return Number(
    new RegExp(`^${name}_bucket\\{le="${le}"[^}]*\\} ([0-9.eE+-]+)$`, "m").exec(text)?.[1] ?? NaN,
  );
}

/** Scrapes `att_score_*` histograms from http://127.0.0.1:<port>/metrics. */
export async function scrapeBatchBreakdown(port: number): Promise<BatchBreakdown | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const size = histogram(text, "att_score_batch_size");
    const e2e = histogram(text, "att_score_e2e_latency_seconds");
    const mean = (n: string) => {
      const h = histogram(text, n);
      return h.count > 0 ? (h.sum / h.count) * 1000 : NaN;
    };
    return {
      batches: size.count,
      meanBatchSize: size.count > 0 ? size.sum / size.count : NaN,
      featureMs: mean("att_score_feature_seconds"),
      modelMs: mean("att_score_model_seconds"),
      commitMs: mean("att_score_commit_seconds"),
      commitsOver100ms: 1 - bucket(text, "att_score_commit_seconds", "0.1") / size.count,
      commitsOver250ms: 1 - bucket(text, "att_score_commit_seconds", "0.25") / size.count,
      scorerLatencyOver100ms: 1 - bucket(text, "att_score_e2e_latency_seconds", "0.1") / e2e.count,
      scorerLatencyOver250ms: 1 - bucket(text, "att_score_e2e_latency_seconds", "0.25") / e2e.count,
    };
  } catch {
    return undefined;
  }
}
