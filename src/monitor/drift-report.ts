import { binomialTest, twoSidedNormalTail, type BinomialTest } from "./binomial.js";
import { psi } from "./psi.js";
import type { DriftReference } from "./reference.js";

export interface DriftThresholds {
  /** |z| level whose two-sided normal significance the exact binomial p-value must beat. */
  zThreshold: number;
  scorePsiThreshold: number;
  featurePsiThreshold: number;
  topFeatures: number;
}

/** Counts of one window, binned like the reference. */
export interface WindowCounts {
  n: number;
  anomalies: number;
  scoreCounts?: ArrayLike<number>;
  /** Rows that came with feature values (may be fewer than n). */
  featureRows: number;
  /** Per reference feature (same order as `DriftReference.features`). */
  featureCounts: ArrayLike<number>[];
}

export interface DriftReport {
  modelVersion: string;
  windowIndex: number;
  startedAt: string;
  endedAt: string;
  size: number;
  threshold: number;
  anomalies: number;
  anomalyRate: number;
  trainingAnomalyRate: number;
  rateTest: BinomialTest;
  /** Significance the exact p-value is compared with (two-sided normal tail at zThreshold). */
  alpha: number;
  rateAlarm: boolean;
  scorePsi?: number;
  scorePsiAlarm: boolean;
  featurePsi: Record<string, number>;
  /** Strongest drifting features, highest PSI first. */
  topFeatures: { feature: string; psi: number }[];
  featureAlarm: boolean;
  alarm: boolean;
  /** Human-readable causes of the alarm (empty when none). */
  reasons: string[];
}

/** Below this many feature rows in a window, feature PSI is noise and is not reported. */
export const MIN_FEATURE_ROWS = 100;

function pct(x: number): string {
  return `${(x * 100).toFixed(3)}%`;
}

export function evaluateWindow(
  ref: DriftReference,
  w: WindowCounts,
  t: DriftThresholds,
  meta: { windowIndex: number; startedAt: string; endedAt: string },
): DriftReport {
  const rateTest = binomialTest(w.anomalies, w.n, ref.trainingAnomalyRate);
  const alpha = twoSidedNormalTail(t.zThreshold);
  const rateAlarm = w.n > 0 && rateTest.pValue < alpha;
  const scorePsi = ref.score && w.scoreCounts ? psi(ref.score.expected, w.scoreCounts) : undefined;
  const scorePsiAlarm = scorePsi !== undefined && scorePsi > t.scorePsiThreshold;
  const featurePsi: Record<string, number> = {};
  if (w.featureRows >= MIN_FEATURE_ROWS) {
    ref.features.forEach((f, i) => {
      featurePsi[f.name] = psi(f.expected, w.featureCounts[i]!);
    });
  }
  const ranked = Object.entries(featurePsi)
    .map(([feature, v]) => ({ feature, psi: v }))
    .sort((a, b) => b.psi - a.psi);
  const drifting = ranked.filter((f) => f.psi > t.featurePsiThreshold);
  const featureAlarm = drifting.length > 0;
  const anomalyRate = w.n ? w.anomalies / w.n : 0;
  const reasons: string[] = [];
  if (rateAlarm) {
    reasons.push(
      `anomaly rate ${pct(anomalyRate)} vs ${pct(ref.trainingAnomalyRate)} in training (${w.anomalies} vs ${rateTest.expected.toFixed(1)} expected, z=${rateTest.z.toFixed(2)}, p=${rateTest.pValue.toExponential(2)})`,
    );
  }
  if (scorePsiAlarm) reasons.push(`score distribution PSI ${scorePsi!.toFixed(3)} > ${t.scorePsiThreshold}`);
  if (featureAlarm) {
    reasons.push(
      `${drifting.length} feature(s) with PSI > ${t.featurePsiThreshold}: ${drifting
        .slice(0, Math.max(1, t.topFeatures))
        .map((f) => `${f.feature} ${f.psi.toFixed(3)}`)
        .join(", ")}`,
    );
  }
  return {
    modelVersion: ref.modelVersion,
    windowIndex: meta.windowIndex,
    startedAt: meta.startedAt,
    endedAt: meta.endedAt,
    size: w.n,
    threshold: ref.threshold,
    anomalies: w.anomalies,
    anomalyRate,
    trainingAnomalyRate: ref.trainingAnomalyRate,
    rateTest,
    alpha,
    rateAlarm,
    ...(scorePsi !== undefined ? { scorePsi } : {}),
    scorePsiAlarm,
    featurePsi,
    topFeatures: ranked.slice(0, t.topFeatures),
    featureAlarm,
    alarm: rateAlarm || scorePsiAlarm || featureAlarm,
    reasons,
  };
}
