/**
 * Precision and recall from labelled transactions (issue 16): `att stats` uses it over a range of
 * findings, `att model compare` per model. A transaction counts only if it has a label; an
 * unlabelled one says nothing about either measure.
 *
 * - flagged + positive label → true positive; flagged + negative → false positive;
 * - not flagged + positive → false negative (missed); not flagged + negative → true negative.
 * - precision = TP / (TP + FP), recall = TP / (TP + FN); null when the denominator is 0.
 *
 * @example
 *   precisionRecall([{ flagged: true, positive: true }, { flagged: true, positive: false }])
 *   // → { tp: 1, fp: 1, fn: 0, tn: 0, precision: 0.5, recall: 1 }
 */
export interface PrecisionRecall {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number | null;
  recall: number | null;
}

export interface LabelledOutcome {
  /** The model flagged it (ANOMALOUS, or a score at or above the threshold). */
  flagged: boolean;
  /** Its label: true-positive verdict or injected exploit (true); false-positive or benign verdict (false). */
  positive: boolean;
}

export function precisionRecall(items: Iterable<LabelledOutcome>): PrecisionRecall {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const i of items) {
    if (i.flagged) {
      if (i.positive) tp += 1;
      else fp += 1;
    } else if (i.positive) fn += 1;
    else tn += 1;
  }
  return {
    tp,
    fp,
    fn,
    tn,
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: tp + fn > 0 ? tp / (tp + fn) : null,
  };
}

/**
 * Precision and recall if the threshold were `threshold`: flagged = score ≥ threshold, for the
 * labelled transactions that have a score.
 */
export function precisionRecallAt(
  items: Iterable<{ score: number; positive: boolean }>,
  threshold: number,
): PrecisionRecall {
  const out: LabelledOutcome[] = [];
  for (const i of items) out.push({ flagged: i.score >= threshold, positive: i.positive });
  return precisionRecall(out);
}
