import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import type { CardV2 } from "./card-v2.js";
import { applyLink, exactMargin, linearAttributions, type ExplainModel } from "./explain-json.js";
import { createEngine, REFINE_MARGIN, type Model } from "./model.js";
import { SCORE_OUTPUT } from "./session.js";
import { createTreeExplainer } from "./tree-shap.js";

/**
 * A model of any att-model/2 kind but the IsolationForest (which keeps its compact path): the
 * converted graph's `score` output is the card's score, one onnxruntime call per batch. With
 * explain.json, rows whose float32 score lies near the threshold are re-scored in float64
 * (so that predictions are scikit-learn's), and rows are explained exactly: path-dependent
 * TreeSHAP of the trees' output (the margin of boosted trees, the probability of averaged
 * forests) or coef_j (x_j − reference_j) of a linear model's margin.
 */
export interface EstimatorModelParts {
  dir: string;
  card: CardV2;
  /** explain.json, parsed and checked against the card; null when the card has no explanations. */
  exact: ExplainModel | null;
  session: InferenceSession;
  Tensor: typeof OrtTensor;
  threshold: number;
  explainTopK: number;
  maxBatchSize: number;
}

/** The card's score of a row from explain.json, in float64. */
export function exactScore(card: CardV2, exact: ExplainModel, row: Float32Array): number {
  const margin = exactMargin(exact, row);
  return card.score.kind === "decision_function" ? margin : applyLink(exact, margin);
}

export function createEstimatorModel(parts: EstimatorModelParts): Model {
  const { card, exact, threshold } = parts;
  const width = card.features.length;
  const explainer = exact?.kind === "trees" ? createTreeExplainer(exact) : null;
  const shap = (row: Float32Array, out = new Float64Array(width)): Float64Array => {
    if (explainer) return explainer.shap(row, out);
    out.fill(0);
    return exact?.kind === "linear" ? linearAttributions(exact, row, out) : out;
  };
  return createEngine({
    ...parts,
    kind: card.estimator.kind,
    scoreKind: card.score.kind,
    labels: card.score.labels,
    explainSpace: exact ? (card.explain?.space as "margin" | "probability") : null,
    baseValue: exact ? exact.baseValue : NaN,
    fetches: [SCORE_OUTPUT],
    sign: 1,
    shap,
    collect(out, flat, start, m, score) {
      const s = out[SCORE_OUTPUT]!.data as Float32Array;
      for (let k = 0; k < m; k++) {
        const i = start + k;
        const v = s[k]!;
        score[i] = v;
        if (exact && Math.abs(v - threshold) < REFINE_MARGIN * Math.max(1, Math.abs(v)))
          score[i] = exactScore(card, exact, flat.subarray(i * width, (i + 1) * width));
      }
    },
  });
}
