import { ModelError, type AttErrorOptions } from "../kernel/errors.js";

/**
 * Stable codes of every way a model can be refused or a row rejected. All are ModelErrors,
 * hence non-retryable: a model folder does not fix itself, and a row with NaN features stays
 * invalid (the score stage turns that row into an INVALID finding).
 */
export const MODEL_ERROR_CODES = {
  /** The folder, a listed file or the registry entry does not exist. */
  notFound: "ATT_MODEL_NOT_FOUND",
  /** model.json is not JSON or does not follow the card schema. */
  invalidCard: "ATT_MODEL_INVALID_CARD",
  /** The card's `format` is not one this loader understands. */
  unsupportedFormat: "ATT_MODEL_UNSUPPORTED_FORMAT",
  /** A file's sha256 differs from the card (tampered or partially copied). */
  hashMismatch: "ATT_MODEL_HASH_MISMATCH",
  /** Empty, duplicated, or inconsistent feature list, or a width differing from the ONNX input. */
  unknownFeatures: "ATT_MODEL_UNKNOWN_FEATURES",
  /** A score transform other than abs_score_samples. */
  unsupportedTransform: "ATT_MODEL_UNSUPPORTED_TRANSFORM",
  /** ONNX opsets, inputs or outputs this loader was not built for, or bytes that are not ONNX. */
  unsupportedOnnx: "ATT_MODEL_UNSUPPORTED_ONNX",
  /** forest.json is malformed or disagrees with the card or the ONNX graph. */
  invalidForest: "ATT_MODEL_INVALID_FOREST",
  /** explain.json is malformed, disagrees with the card, or scores probe rows unlike model.onnx. */
  invalidExplain: "ATT_MODEL_INVALID_EXPLAIN",
  /** onnxruntime refused to create a session or failed a run. */
  runtime: "ATT_MODEL_RUNTIME",
  /** A row that cannot be scored (NaN/Infinity, wrong width). */
  invalidInput: "ATT_MODEL_INVALID_INPUT",
  /** The Python tooling (import/train) failed. */
  tooling: "ATT_MODEL_TOOLING",
  /** The model was closed. */
  closed: "ATT_MODEL_CLOSED",
} as const;

export type ModelErrorCode = (typeof MODEL_ERROR_CODES)[keyof typeof MODEL_ERROR_CODES];

export function modelError(
  code: ModelErrorCode,
  shortMessage: string,
  opts: AttErrorOptions = {},
): ModelError {
  return new ModelError(shortMessage, { ...opts, code });
}
