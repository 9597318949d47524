import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import type { ModelError } from "../kernel/errors.js";
import type { ModelCard } from "./card.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";
import { topAttributions, type Attribution } from "./explain.js";
import { expectedPathLength, scoreFromPathLength, type Forest } from "./forest.js";
import { PATH_LENGTH_OUTPUT, SCORE_OUTPUT } from "./session.js";
import { createTreeExplainer } from "./tree-shap.js";

export interface ScoreResult {
  /** Normalized anomaly score abs(score_samples) in (0, 1]. */
  score: number;
  /** The ATT rule: anomalous iff score >= threshold. */
  anomalous: boolean;
  /** E[h(x)], the mean path length over the trees (lower = more anomalous). */
  pathLength: number;
  modelVersion: string;
}

/** A row's result, or why it could not be scored (the caller emits an INVALID finding). */
export type RowOutcome = ({ ok: true } & ScoreResult) | { ok: false; error: ModelError };

export interface Model {
  readonly dir: string;
  readonly version: string;
  readonly card: ModelCard;
  readonly features: readonly string[];
  readonly featureCount: number;
  readonly threshold: number;
  /** E[h] over the training cover: the point attributions are measured from. */
  readonly baseValue: number;
  /** Why `row` cannot be scored (wrong width, NaN, ±Infinity), or undefined. */
  checkRow(row: Float32Array): ModelError | undefined;
  /** Scores whole batches (one onnxruntime call per maxBatchSize rows); invalid rows get their own error. */
  scoreBatch(rows: readonly Float32Array[]): Promise<RowOutcome[]>;
  /**
   * Normalized scores of `n` rows laid out row-major in `rows` (one onnxruntime call per
   * maxBatchSize rows). Throws
   * ATT_MODEL_INVALID_INPUT naming the bad rows if any row is not finite.
   */
  scoreRows(rows: Float32Array, n: number): Promise<Float64Array>;
  /** Per-feature TreeSHAP values of E[h(x)] (sum = E[h(x)] - baseValue). */
  attributions(row: Float32Array, out?: Float64Array): Float64Array;
  /** The top-k attributions of a row, strongest first. */
  explain(row: Float32Array, topK?: number): Attribution[];
  close(): Promise<void>;
}

/**
 * Rows whose float32 ONNX score lies this close to the threshold are re-scored in float64 from
 * forest.json, so that the prediction is scikit-learn's (which works in float64) even where
 * float32 rounding (~1e-7 on the score) could flip it.
 */
export const REFINE_MARGIN = 1e-5;

export interface ModelParts {
  dir: string;
  card: ModelCard;
  forest: Forest;
  session: InferenceSession;
  /** onnxruntime's Tensor class (the module is imported once, by the loader). */
  Tensor: typeof OrtTensor;
  threshold: number;
  explainTopK: number;
  /** Most rows per onnxruntime call (ATT_MODEL_MAX_BATCH_SIZE); larger batches are split. */
  maxBatchSize: number;
}

export function createModel(parts: ModelParts): Model {
  const { dir, card, forest, session, threshold, Tensor, maxBatchSize } = parts;
  const features = Object.freeze([...card.features]);
  const width = features.length;
  const inputName = card.onnx.input;
  const fetches = session.outputNames.includes(PATH_LENGTH_OUTPUT)
    ? [SCORE_OUTPUT, PATH_LENGTH_OUTPUT]
    : [SCORE_OUTPUT];
  const explainer = createTreeExplainer(forest);
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
  ): Promise<{ score: Float64Array; pathLength: Float64Array }> {
    if (closed) throw modelError(MODEL_ERROR_CODES.closed, `Model ${card.version} is closed.`);
    const score = new Float64Array(n);
    const pathLength = new Float64Array(n);
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
      const s = out[SCORE_OUTPUT]!.data as Float32Array;
      const p = out[PATH_LENGTH_OUTPUT]?.data as Float32Array | undefined;
      for (let k = 0; k < m; k++) {
        const i = start + k;
        score[i] = s[k]!;
        pathLength[i] = p ? p[k]! : -Math.log2(s[k]!) * forest.cMaxSamples;
        if (Math.abs(score[i]! - threshold) < REFINE_MARGIN) {
          const row = flat.subarray(i * width, (i + 1) * width);
          pathLength[i] = expectedPathLength(forest, row);
          score[i] = scoreFromPathLength(forest, pathLength[i]!);
        }
      }
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
        pathLength: pathLength[r]!,
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
    return explainer.shap(row, out);
  }

  return {
    dir,
    version: card.version,
    card,
    features,
    featureCount: width,
    threshold,
    baseValue: explainer.baseValue,
    checkRow,
    scoreBatch,
    scoreRows,
    attributions,
    explain: (row, topK = parts.explainTopK) => topAttributions(attributions(row), row, features, topK),
    close: async () => {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
