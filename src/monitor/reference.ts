import type { MonitorCard } from "./card.js";
import { createBinner, cutsOf, shareAtOrAbove, type Binner } from "./histogram.js";

/**
 * What a production window is compared with, prepared once from the model card: the training
 * anomaly rate at the threshold in use, the score bins with their training counts, and the
 * bins of every model feature that has a training histogram.
 */
export interface DriftReference {
  modelVersion: string;
  threshold: number;
  trainingAnomalyRate: number;
  /** False when the threshold differs from the card's and no score histogram could re-derive the rate. */
  trainingRateExact: boolean;
  score?: { binner: Binner; expected: number[] };
  /** Features in model-input order (`index` = column of a feature row). */
  features: { index: number; name: string; binner: Binner; expected: number[] }[];
  featureCount: number;
}

/** "p01" → 0.01, "p50" → 0.5, "p999" → 0.999 (the card's quantile names). */
function quantileLevel(name: string): number | undefined {
  const m = /^p(\d+)$/.exec(name);
  return m ? Number(`0.${m[1]}`) : undefined;
}

/** Score bins from the quantiles when the card has no score histogram. */
function scoreFromQuantiles(
  quantiles: Record<string, number>,
  nRows: number,
): { binner: Binner; expected: number[] } | undefined {
  const points = Object.entries(quantiles)
    .map(([k, v]) => ({ level: quantileLevel(k), value: v }))
    .filter((p): p is { level: number; value: number } => p.level !== undefined && Number.isFinite(p.value))
    .sort((a, b) => a.level - b.level);
  const cuts: number[] = [];
  const levels: number[] = [];
  for (const p of points) {
    if (cuts.length && p.value <= cuts[cuts.length - 1]!) {
      levels[levels.length - 1] = p.level; // tied quantiles: one cut holding the higher level
      continue;
    }
    cuts.push(p.value);
    levels.push(p.level);
  }
  if (cuts.length === 0) return undefined;
  const shares = [
    levels[0]!,
    ...levels.slice(1).map((l, i) => l - levels[i]!),
    1 - levels[levels.length - 1]!,
  ];
  return { binner: createBinner(cuts), expected: shares.map((s) => s * nRows) };
}

export function buildDriftReference(card: MonitorCard, opts: { threshold?: number } = {}): DriftReference {
  const threshold = opts.threshold ?? card.threshold;
  const t = card.training;
  let trainingAnomalyRate = t.anomaly_rate;
  let trainingRateExact = true;
  if (Math.abs(threshold - card.threshold) > 1e-12) {
    if (t.score_histogram) trainingAnomalyRate = shareAtOrAbove(t.score_histogram, threshold);
    else trainingRateExact = false;
  }
  const score = t.score_histogram
    ? { binner: createBinner(cutsOf(t.score_histogram)), expected: t.score_histogram.counts }
    : t.score_quantiles
      ? scoreFromQuantiles(t.score_quantiles, t.n_rows ?? 10_000)
      : undefined;
  const features: DriftReference["features"] = [];
  card.features.forEach((name, index) => {
    const h = t.feature_histograms?.[name];
    if (h)
      features.push({ index, name, binner: createBinner(cutsOf(h), { float32: true }), expected: h.counts });
  });
  return {
    modelVersion: card.version,
    threshold,
    trainingAnomalyRate,
    trainingRateExact,
    ...(score ? { score } : {}),
    features,
    featureCount: card.features.length,
  };
}
