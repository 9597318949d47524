import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import type { ModelError } from "../kernel/errors.js";
import type { ModelCard } from "./card.js";
import type { EstimatorKind, ScoreKind } from "./card-v2.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";
import { topAttributions, type Attribution } from "./explain.js";
import { expectedPathLength, scoreFromPathLength, type Forest } from "./forest.js";
import { PATH_LENGTH_OUTPUT, SCORE_OUTPUT } from "./session.js";
import { createTreeExplainer } from "./tree-shap.js";

export interface ScoreResult {
  /** The card's score: abs(score_samples) in (0, 1] for an IsolationForest, else `scoreKind`'s number. */
  score: number;
  /** The prediction rule of every kind: positive (ANOMALOUS or the card's positive label) iff score >= threshold. */
  anomalous: boolean;
  /** IsolationForest only: E[h(x)], the mean path length over the trees (lower = more anomalous). */
  pathLength?: number;
  modelVersion: string;
}

/** A row's result, or why it could not be scored (the caller emits an INVALID finding). */
export type RowOutcome = ({ ok: true } & ScoreResult) | { ok: false; error: ModelError };

/** The names of the two sides of the prediction, as findings carry them. */
export interface ScoreLabels {
  positive: string;
  negative: string;
}

/** What a model's attributions explain (card `explain.space`), or null when it has none. */
export type ExplainSpace = "path_length" | "margin" | "probability";

export interface Model {
  readonly dir: string;
  readonly version: string;
  readonly card: ModelCard;
  readonly features: readonly string[];
  readonly featureCount: number;
  readonly threshold: number;
  /** The estimator behind the ONNX graph ("isolation_forest" for att-model/1). */
  readonly kind: EstimatorKind;
  /** What the score means ("anomaly_score" for att-model/1). */
  readonly scoreKind: ScoreKind;
  /** ANOMALOUS / NORMAL, or the card's own names. */
  readonly labels: ScoreLabels;
  /** What attributions are of; null when the model has no explanations (explain() returns []). */
  readonly explainSpace: ExplainSpace | null;
  /** The explained quantity at the baseline: E[h] over the training cover for an IsolationForest. */
  readonly baseValue: number;
  /** Why `row` cannot be scored (wrong width, NaN, ±Infinity), or undefined. */
  checkRow(row: Float32Array): ModelError | undefined;
  /** Scores whole batches (one onnxruntime call per maxBatchSize rows); invalid rows get their own error. */
  scoreBatch(rows: readonly Float32Array[]): Promise<RowOutcome[]>;
  /**
   * Scores of `n` rows laid out row-major in `rows` (one onnxruntime call per maxBatchSize
   * rows). Throws ATT_MODEL_INVALID_INPUT naming the bad rows if any row is not finite.
   */
  scoreRows(rows: Float32Array, n: number): Promise<Float64Array>;
  /** Per-feature attributions of the explained quantity (sum = f(x) - baseValue); zeros without explanations. */
  attributions(row: Float32Array, out?: Float64Array): Float64Array;
  /** The top-k attributions of a row, strongest first (positive contribution = towards the positive side). */
  explain(row: Float32Array, topK?: number): Attribution[];
  close(): Promise<void>;
}

/**
 * Rows whose float32 ONNX score lies this close to the threshold are re-scored in float64 from
 * forest.json / explain.json, so that the prediction is scikit-learn's (which works in float64)
 * even where float32 rounding (~1e-7 on the score) could flip it. For scores that can exceed 1
 * (a decision function) the margin is relative: REFINE_MARGIN · max(1, |score|).
 */
export const REFINE_MARGIN = 1e-5;

/** What differs between estimator kinds; createEngine adds row checks, batching and explanations. */
export interface EngineCore {
  dir: string;
  card: ModelCard;
  session: InferenceSession;
  /** onnxruntime's Tensor class (the module is imported once, by the loader). */
  Tensor: typeof OrtTensor;
  threshold: number;
  explainTopK: number;
  /** Most rows per onnxruntime call (ATT_MODEL_MAX_BATCH_SIZE); larger batches are split. */
  maxBatchSize: number;
  kind: EstimatorKind;
  scoreKind: ScoreKind;
  labels: ScoreLabels;
  explainSpace: ExplainSpace | null;
  baseValue: number;
  /** Outputs to fetch from each run (`score` first). */
  fetches: string[];
  /**
   * Turns one run's outputs for rows start..start+m of `flat` into scores (and path lengths),
   * re-scoring rows near the threshold exactly.
   */
  collect(
    out: InferenceSession.ReturnType,
    flat: Float32Array,
    start: number,
    m: number,
    score: Float64Array,
    pathLength: Float64Array | null,
  ): void;
  shap(row: Float32Array, out?: Float64Array): Float64Array;
  /** -1 when a negative attribution raises the score (path length), else 1. */
  sign: 1 | -1;
}

/** The parts of an IsolationForest model (att-model/1, or att-model/2 of kind isolation_forest). */
export interface ModelParts {
  dir: string;
  card: ModelCard;
  forest: Forest;
  session: InferenceSession;
  Tensor: typeof OrtTensor;
  threshold: number;
  explainTopK: number;
  maxBatchSize: number;
  labels?: ScoreLabels;
}

export const DEFAULT_LABELS: ScoreLabels = Object.freeze({ positive: "ANOMALOUS", negative: "NORMAL" });

/** An IsolationForest served by the compact graph and forest.json (the fast path, unchanged by issue 15). */
export function createModel(parts: ModelParts): Model {
  const { forest, session, threshold } = parts;
  const withPath = session.outputNames.includes(PATH_LENGTH_OUTPUT);
  const explainer = createTreeExplainer(forest);
  const width = parts.card.features.length;
  return createEngine({
    ...parts,
    kind: "isolation_forest",
    scoreKind: "anomaly_score",
    labels: parts.labels ?? DEFAULT_LABELS,
    explainSpace: "path_length",
    baseValue: explainer.baseValue,
    fetches: withPath ? [SCORE_OUTPUT, PATH_LENGTH_OUTPUT] : [SCORE_OUTPUT],
    sign: -1,
    shap: explainer.shap,
    collect(out, flat, start, m, score, pathLength) {
      const s = out[SCORE_OUTPUT]!.data as Float32Array;
      const p = out[PATH_LENGTH_OUTPUT]?.data as Float32Array | undefined;
      for (let k = 0; k < m; k++) {
        const i = start + k;
        score[i] = s[k]!;
        pathLength![i] = p ? p[k]! : -Math.log2(s[k]!) * forest.cMaxSamples;
        if (Math.abs(score[i]! - threshold) < REFINE_MARGIN) {
          const row = flat.subarray(i * width, (i + 1) * width);
          pathLength![i] = expectedPathLength(forest, row);
          score[i] = scoreFromPathLength(forest, pathLength![i]!);
        }
      }
    },
  });
}

export function createEngine(core: EngineCore): Model {
  const { card, session, threshold, Tensor, maxBatchSize, fetches } = core;
  const features = Object.freeze([...card.features]);
  const width = features.length;
  const inputName = card.onnx.input;
  const withPathLength = core.kind === "isolation_forest";
  let closed = false;

  function checkRow(row: Float32Array): ModelError | undefined {
    if (row.length !== width) {
      return modelError(
        MODEL_ERROR_CODES.invalidInput,
        `Row has ${row.length} feature values; model ${card.version} expects ${width}.`,
      );
    }
    for (let j = 0; j < width; j++) {
      if (!Number.isFinite(row[j]!)) {
        const bad = features.flatMap((f, k) => (Number.isFinite(row[k]!) ? [] : [`${f}=${row[k]}`]));
        return modelError(
          MODEL_ERROR_CODES.invalidInput,
          `Row cannot be scored: ${bad.length} feature value${bad.length > 1 ? "s are" : " is"} not finite.`,
          {
            details: [
              `Got: ${bad.slice(0, 8).join(", ")}${bad.length > 8 ? ", …" : ""}`,
              "Expected: finite numbers (the model has no rule for NaN or Infinity)",
            ],
          },
        );
      }
    }
    return undefined;
  }

  /**
   * Scores `n` valid rows: one onnxruntime call per `maxBatchSize` rows. Each call blocks the
   * event loop while it runs; awaiting between calls lets timers, sockets and heartbeats in.
   */
  async function run(
    flat: Float32Array,
    n: number,
  ): Promise<{ score: Float64Array; pathLength: Float64Array | null }> {
    if (closed) throw modelError(MODEL_ERROR_CODES.closed, `Model ${card.version} is closed.`);
    const score = new Float64Array(n);
    const pathLength = withPathLength ? new Float64Array(n) : null;
    for (let start = 0; start < n; start += maxBatchSize) {
      const m = Math.min(maxBatchSize, n - start);
      let out: InferenceSession.ReturnType;
      try {
        const input = new Tensor("float32", flat.subarray(start * width, (start + m) * width), [m, width]);
        out = await session.run({ [inputName]: input }, fetches);
      } catch (err) {
        throw modelError(
          MODEL_ERROR_CODES.runtime,
          `onnxruntime failed to score ${m} rows with model ${card.version}.`,
          {
            cause: err,
          },
        );
      }
      core.collect(out, flat, start, m, score, pathLength);
    }
    return { score, pathLength };
  }

  async function scoreBatch(rows: readonly Float32Array[]): Promise<RowOutcome[]> {
    const outcomes: (RowOutcome | undefined)[] = new Array(rows.length);
    const valid: number[] = [];
    rows.forEach((row, i) => {
      const error = checkRow(row);
      if (error) outcomes[i] = { ok: false, error };
      else valid.push(i);
    });
    const flat = new Float32Array(valid.length * width);
    valid.forEach((i, r) => flat.set(rows[i]!, r * width));
    const { score, pathLength } = await run(flat, valid.length);
    valid.forEach((i, r) => {
      outcomes[i] = {
        ok: true,
        score: score[r]!,
        anomalous: score[r]! >= threshold,
        ...(pathLength ? { pathLength: pathLength[r]! } : {}),
        modelVersion: card.version,
      };
    });
    return outcomes as RowOutcome[];
  }

  async function scoreRows(rows: Float32Array, n: number): Promise<Float64Array> {
    if (rows.length < n * width) {
      throw modelError(
        MODEL_ERROR_CODES.invalidInput,
        `scoreRows got ${rows.length} values for ${n} rows of ${width} features.`,
      );
    }
    const bad: string[] = [];
    for (let i = 0; i < n && bad.length < 10; i++) {
      const err = checkRow(rows.subarray(i * width, (i + 1) * width));
      if (err) bad.push(`row ${i}: ${err.details[0] ?? err.shortMessage}`);
    }
    if (bad.length) {
      throw modelError(MODEL_ERROR_CODES.invalidInput, `Cannot score the batch: some rows are not finite.`, {
        details: bad,
      });
    }
    return (await run(rows, n)).score;
  }

  function attributions(row: Float32Array, out?: Float64Array): Float64Array {
    const err = checkRow(row);
    if (err) throw err;
    return core.shap(row, out);
  }

  return {
    dir: core.dir,
    version: card.version,
    card,
    features,
    featureCount: width,
    threshold,
    kind: core.kind,
    scoreKind: core.scoreKind,
    labels: core.labels,
    explainSpace: core.explainSpace,
    baseValue: core.baseValue,
    checkRow,
    scoreBatch,
    scoreRows,
    attributions,
    explain: (row, topK = core.explainTopK) =>
      core.explainSpace === null ? [] : topAttributions(attributions(row), row, features, topK, core.sign),
    close: async () => {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
