import type { FeatureMarginal, Marginals } from "./marginals.js";

interface Histogram {
  edges: number[];
  counts: number[];
}

const INTEGER = /(_transfers|_count|_counts)$/;

/**
 * Marginals rebuilt from a model card's training histograms (`training.feature_histograms`:
 * edges [low, cut_1..cut_k, high], right-closed bins), for machines without the reference
 * training_marginals.json. The cards keep no per-bin mean or spread, so each bin gets its
 * midpoint (log-uniform mean for positive real ranges) and a uniform's spread: an
 * approximation — the rare tails of the real marginals are coarser here.
 */
export function marginalsFromCard(card: {
  training?: { n_rows?: number | null; feature_histograms?: Record<string, Histogram> } | undefined;
  version?: string;
}): Marginals | undefined {
  const hists = card.training?.feature_histograms;
  if (!hists || Object.keys(hists).length === 0) return undefined;
  const features: Record<string, FeatureMarginal> = {};
  for (const [name, h] of Object.entries(hists)) {
    const total = h.counts.reduce((s, c) => s + c, 0);
    if (total <= 0 || h.edges.length !== h.counts.length + 1) continue;
    const integer = INTEGER.test(name);
    const m: FeatureMarginal = { name, freq: [], mean: [], std: [], lo: [], hi: [] };
    h.counts.forEach((c, i) => {
      const lo = h.edges[i]!;
      const hi = Math.max(lo, h.edges[i + 1]!);
      let mean: number;
      if (integer) mean = ((i === 0 ? Math.ceil(lo) : Math.floor(lo) + 1) + Math.floor(hi)) / 2;
      else if (lo > 0 && hi > lo) mean = (hi - lo) / Math.log(hi / lo);
      else mean = (lo + hi) / 2;
      m.freq.push(c / total);
      m.mean.push(Math.min(Math.max(mean, lo), hi));
      m.std.push((hi - lo) / Math.sqrt(12));
      m.lo.push(lo);
      m.hi.push(hi);
    });
    features[name] = m;
  }
  return {
    nSamples: card.training?.n_rows ?? 0,
    source: `model card ${card.version ?? ""} training histograms (approximate)`,
    features,
  };
}
