import { ALERT_IDS } from "../../contracts/finding.js";
import type { LabelSet, LabelSource } from "../labels/labels.js";
import { precisionRecall, precisionRecallAt, type PrecisionRecall } from "../labels/metrics.js";
import type { KeptFinding } from "./collect.js";

/**
 * Precision and recall of a range of findings against the labels (issue 16): analysts'
 * verdicts, the simulator's injected exploits and the known exploit transactions
 * (src/tools/labels/labels.ts). Counted over scored findings (NORMAL and ANOMALOUS) that have a
 * label; flagged = ANOMALOUS. An injected exploit sent within the range that has no finding at
 * all (NORMAL findings switched off, or never scored) counts as missed.
 */
export interface LabelledStats extends PrecisionRecall {
  /** Verdicts on the verdicts topic (all, not only this range's). */
  verdictsOnTopic: number;
  /** Labelled scored findings in the range, by where the label came from. */
  labelled: number;
  bySource: Record<LabelSource, number>;
  /** Labelled transactions with an INVALID finding only: neither flagged nor missed. */
  unscored: number;
  /** Injected exploits sent within the range without any finding (counted in `fn`). */
  missedWithoutFinding: number;
  /** The flagged transactions an analyst marked false-positive or benign. */
  falsePositives: { txHash: string; score: number; from: string | null; verdict: string }[];
  /** The same at each what-if threshold (flagged = score ≥ threshold). */
  whatIf: ({ threshold: number } & PrecisionRecall)[];
}

export function labelledStats(
  kept: readonly KeptFinding[],
  labels: LabelSet,
  o: { fromMs: number; toMs: number; thresholds: number[]; topN: number },
): LabelledStats {
  const bySource: Record<LabelSource, number> = { verdict: 0, injected: 0, "known-exploit": 0 };
  const outcomes: { flagged: boolean; positive: boolean; score: number }[] = [];
  const seen = new Set<string>();
  const falsePositives: LabelledStats["falsePositives"] = [];
  let unscored = 0;
  for (const f of kept) {
    if (!f.txHash || f.chainId === undefined) continue;
    seen.add(f.txHash);
    const label = labels.get(f.chainId, f.txHash);
    if (!label) continue;
    if (f.score === undefined || f.alertId === ALERT_IDS.invalid) {
      unscored += 1;
      continue;
    }
    bySource[label.source] += 1;
    const flagged = f.alertId === ALERT_IDS.anomalous;
    outcomes.push({ flagged, positive: label.positive, score: f.score });
    if (flagged && !label.positive)
      falsePositives.push({
        txHash: f.txHash,
        score: f.score,
        from: f.from ?? null,
        verdict: label.verdict!,
      });
  }
  // Exploits the simulator sent in the range that left no finding: missed at every threshold.
  const missed = labels.injected.filter(
    (e) => e.sentAt >= o.fromMs && e.sentAt < o.toMs && !seen.has(e.hash),
  ).length;
  const misses = Array.from({ length: missed }, () => ({ flagged: false, positive: true, score: -Infinity }));
  const all = [...outcomes, ...misses];
  return {
    verdictsOnTopic: labels.verdicts,
    labelled: outcomes.length,
    bySource,
    unscored,
    missedWithoutFinding: missed,
    ...precisionRecall(all),
    falsePositives: falsePositives.sort((a, b) => b.score - a.score).slice(0, o.topN),
    whatIf: o.thresholds.map((threshold) => ({ threshold, ...precisionRecallAt(all, threshold) })),
  };
}
