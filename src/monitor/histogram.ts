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
 * Share of the reference histogram at or above `t` (x ≥ t), assuming values spread
 * uniformly inside a bin; exact when t is a cut. Used for the training anomaly rate at a
 * threshold other than the card's.
 */
export function shareAtOrAbove(h: CardHistogram, t: number): number {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let above = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const lo = h.edges[i]!;
    const hi = h.edges[i + 1]!;
    const n = h.counts[i]!;
    if (lo >= t) above += n;
    else if (hi > t) above += (n * (hi - t)) / (hi - lo);
  }
  return above / total;
}
