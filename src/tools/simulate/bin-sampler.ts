import type { FeatureMarginal } from "./marginals.js";
import { ndtr, ndtri } from "./random.js";

/**
 * Inverse CDF of one feature's marginal restricted to some bins: u in (0, 1) -> value.
 * Within a bin, integers follow a truncated geometric law and reals a truncated lognormal of
 * (x - lo), each fitted to the bin's recorded mean (and std); degenerate bins (std ~ 0) give
 * their mean. The same construction as model-tools/att_model/synthetic.py `BinSampler`, so
 * that the simulator's traffic and the synthetic training rows share one distribution.
 */
export interface BinSampler {
  sample(u: number): number;
}

function degenerate(mean: number, std: number): boolean {
  return std <= 1e-9 * Math.max(1, Math.abs(mean));
}

/** p(k) proportional to r^(k - k0) on k0..k1 with the given mean (bisection on log r); cumulative. */
function geometricCdf(k0: number, k1: number, mean: number): number[] {
  const n = k1 - k0 + 1;
  if (n === 1 || mean <= k0) return Array.from({ length: n }, () => 1);
  if (mean >= k1) return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0));
  const pmf = (logR: number) => {
    const w = Array.from({ length: n }, (_, i) => i * logR);
    const max = Math.max(...w);
    const e = w.map((x) => Math.exp(x - max));
    const sum = e.reduce((s, x) => s + x, 0);
    return e.map((x) => x / sum);
  };
  let a = -50;
  let b = 50;
  for (let it = 0; it < 200; it++) {
    const m = (a + b) / 2;
    const avg = pmf(m).reduce((s, p, i) => s + p * (k0 + i), 0);
    if (avg < mean) a = m;
    else b = m;
  }
  const p = pmf((a + b) / 2);
  const cdf: number[] = [];
  let acc = 0;
  for (const x of p) cdf.push((acc += x));
  return cdf;
}

export function createBinSampler(
  m: FeatureMarginal,
  weights: readonly number[],
  opts: { integer: boolean; firstBinUniform?: boolean },
): BinSampler {
  const w = weights.map((x) => Math.max(0, x));
  const total = w.reduce((s, x) => s + x, 0);
  if (!(total > 0)) throw new RangeError(`${m.name}: no bin left to sample`);
  const p = w.map((x) => x / total);
  const cum: number[] = [];
  let acc = 0;
  for (const x of p) cum.push((acc += x));
  cum[cum.length - 1] = 1;
  const intCdfs = new Map<number, { k0: number; cdf: number[] }>();

  const intSupport = (i: number): [number, number] => {
    const k0 = i === 0 ? Math.ceil(m.lo[i]!) : Math.floor(m.lo[i]!) + 1;
    const k1 = Math.floor(m.hi[i]!);
    return [k0, Math.max(k0, k1)];
  };

  const within = (i: number, r: number): number => {
    const lo = m.lo[i]!;
    const hi = m.hi[i]!;
    const mean = m.mean[i]!;
    const std = m.std[i]!;
    if (opts.integer) {
      let entry = intCdfs.get(i);
      if (!entry) {
        const [k0, k1] = intSupport(i);
        entry = { k0, cdf: geometricCdf(k0, k1, mean) };
        intCdfs.set(i, entry);
      }
      let k = entry.cdf.findIndex((c) => r < c);
      if (k < 0) k = entry.cdf.length - 1;
      return entry.k0 + k;
    }
    if (i === 0 && opts.firstBinUniform) return lo + (hi - lo) * Math.max(r, 1e-12);
    if (degenerate(mean, std) || mean <= lo) return Math.min(Math.max(mean, lo), hi);
    const muS = mean - lo;
    const sigma2 = std > 0 ? Math.log1p((std / muS) ** 2) : 1e-6;
    const sigma = Math.sqrt(sigma2);
    const mu = Math.log(muS) - sigma2 / 2;
    const top = hi > lo ? ndtr((Math.log(hi - lo) - mu) / sigma) : 1;
    const q = Math.min(Math.max(r * top, 1e-300), 1 - 1e-16);
    const x = lo + Math.exp(mu + sigma * ndtri(q));
    return Math.min(Math.max(x, lo + Math.max(Math.abs(lo), 1e-300) * Number.EPSILON), hi);
  };

  return {
    sample(u: number): number {
      let b = cum.findIndex((c) => u < c);
      if (b < 0) b = p.length - 1;
      const start = b === 0 ? 0 : cum[b - 1]!;
      const r = Math.min(Math.max((u - start) / p[b]!, 0), 1);
      return within(b, r);
    },
  };
}
