/**
 * The statistics `att model compare` puts side by side. Pure functions over plain arrays.
 */

/** Ranks 1..n with ties given their average rank (as Spearman's rho needs). */
export function ranks(xs: ArrayLike<number>): Float64Array {
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const out = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]!] = avg;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation; null when either side is constant or there are fewer than 2 points. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  if (n < 2 || b.length !== n) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation (Pearson of the tie-averaged ranks). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  return pearson(ranks(a), ranks(b));
}

/** |A ∩ B| / |A ∪ B| of two flag vectors; null when neither flags anything. */
export function jaccard(a: ArrayLike<boolean>, b: ArrayLike<boolean>): number | null {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? null : inter / union;
}

/**
 * The threshold at which `rate` of `scores` would be flagged (flagged iff score >= threshold):
 * the k-th highest score, k = round(rate · n), at least 1. Ties at the cut flag every tied row,
 * so `achieved` may exceed `rate`; null for no scores.
 */
export function thresholdForRate(
  scores: ArrayLike<number>,
  rate: number,
): { threshold: number; achieved: number } | null {
  const n = scores.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(scores).sort().reverse();
  const k = Math.min(n, Math.max(1, Math.round(rate * n)));
  const threshold = sorted[k - 1]!;
  let flagged = 0;
  for (let i = 0; i < n; i++) if (scores[i]! >= threshold) flagged++;
  return { threshold, achieved: flagged / n };
}
