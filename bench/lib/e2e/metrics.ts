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
}

function histogram(text: string, name: string): { sum: number; count: number } {
  const num = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  return { sum: num("sum"), count: num("count") };
}

/** Scrapes `att_score_*` histograms from http://127.0.0.1:<port>/metrics. */
export async function scrapeBatchBreakdown(port: number): Promise<BatchBreakdown | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const size = histogram(text, "att_score_batch_size");
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
    };
  } catch {
    return undefined;
  }
}
