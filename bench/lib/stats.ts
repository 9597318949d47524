import { percentile } from "../../src/kernel/math.js";

/** Small statistics for benchmark figures. */

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const s = Float64Array.from(values).sort();
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN;
  return {
    n: s.length,
    mean,
    p50: percentile(s, 50) ?? Number.NaN,
    p95: percentile(s, 95) ?? Number.NaN,
    p99: percentile(s, 99) ?? Number.NaN,
    max: s.length ? s[s.length - 1]! : Number.NaN,
  };
}

/**
 * Largest number of events inside any window of `windowMs` (half-open `[t, t + windowMs)`),
 * i.e. the peak rate a provider that limits over a sliding window would see.
 */
export function slidingWindowMax(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[j]! <= t[i]! - windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
