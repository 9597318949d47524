/**
 * Reference histograms of the model card (model-tools/att_model/card.py):
 * `edges` = [min, cut_1, …, cut_k, max] and `counts` has k + 1 entries; bin 0 is x ≤ cut_1,
 * bin i is cut_i < x ≤ cut_(i+1), the last bin is x > cut_k. min and max are only the observed
 * range: production values outside it fall into the first / last bin, as numpy's
 * `searchsorted(cuts, x, side="left")` puts them.
 */
export interface CardHistogram {
  edges: number[];
  counts: number[];
}

export interface Binner {
  /** Number of bins (cuts + 1). */
  readonly size: number;
  /** Inner cuts (ascending). */
  readonly cuts: Float64Array;
  /** Bin index of x: the number of cuts strictly below x. NaN goes to the last bin. */
  bin(x: number): number;
}

/**
 * Bins with the card's right-closed convention. `float32: true` compares float32-rounded
 * values against float32-rounded cuts: rounding is monotonic, so every training value
 * `x ≤ cut` still satisfies `fround(x) ≤ fround(cut)` when it arrives as a float32 model input.
 */
export function createBinner(cuts: ArrayLike<number>, opts: { float32?: boolean } = {}): Binner {
  const c = Float64Array.from(cuts, (v) => (opts.float32 ? Math.fround(v) : v));
  for (let i = 1; i < c.length; i++) {
    if (!(c[i]! > c[i - 1]!)) throw new RangeError(`histogram cuts must be strictly ascending (cut ${i})`);
  }
  const f32 = opts.float32 ?? false;
  return {
    size: c.length + 1,
    cuts: c,
    bin(x: number): number {
      if (Number.isNaN(x)) return c.length;
      const v = f32 ? Math.fround(x) : x;
      let lo = 0;
      let hi = c.length;
      // first index with cut >= v
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (c[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    },
  };
}

/** The inner cuts of a card histogram (edges without the observed min and max). */
export function cutsOf(h: CardHistogram): number[] {
  return h.edges.slice(1, -1);
}

export function validateHistogram(h: CardHistogram, what: string): void {
  if (h.edges.length < 2) throw new RangeError(`${what}: needs at least 2 edges, got ${h.edges.length}`);
  if (h.counts.length !== h.edges.length - 1) {
    throw new RangeError(
      `${what}: ${h.edges.length} edges need ${h.edges.length - 1} counts, got ${h.counts.length}`,
    );
  }
}

/**
 * Share of the reference histogram at or above `t` (x ≥ t); exact when t is a cut. Between
 * cuts the share is interpolated geometrically (linear in log-share): score tails fall off
 * roughly exponentially, and a straight line across a 0.02-wide bin overstates them by a
 * fifth near the ATT threshold.
 */
export function shareAtOrAbove(h: CardHistogram, t: number): number {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  // survival[i] = share above edges[i]
  const survival = new Array<number>(h.edges.length).fill(0);
  for (let i = h.counts.length - 1; i >= 0; i--) survival[i] = survival[i + 1]! + h.counts[i]! / total;
  if (t <= h.edges[0]!) return 1;
  if (t > h.edges[h.edges.length - 1]!) return 0;
  let i = 0;
  while (i < h.edges.length - 2 && h.edges[i + 1]! < t) i++;
  const lo = h.edges[i]!;
  const hi = h.edges[i + 1]!;
  const w = hi > lo ? (t - lo) / (hi - lo) : 1;
  const a = survival[i]!;
  const b = survival[i + 1]!;
  if (w >= 1) return b;
  if (a > 0 && b > 0) return Math.exp((1 - w) * Math.log(a) + w * Math.log(b));
  return a + (b - a) * w;
}
