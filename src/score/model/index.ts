/**
 * The scoring engine: load a verified model folder, score batches with onnxruntime-node,
 * explain rows with exact TreeSHAP. docs/model.md.
 */
export { CARD_FORMAT, SCORE_TRANSFORM, type ModelCard } from "./card.js";
export { MODEL_ERROR_CODES, type ModelErrorCode } from "./errors.js";
export { topAttributions, type Attribution } from "./explain.js";
export { loadModel, readCard, type LoadModelOptions } from "./load.js";
export { REFINE_MARGIN, type Model, type RowOutcome, type ScoreResult } from "./model.js";
export { listVersions, readDefaultVersion, resolveModelDir } from "./registry.js";
export { DEFAULT_SESSION_SETTINGS, type SessionSettings } from "./session.js";
export { modelSettingsFromConfig, loadConfiguredModel } from "./from-config.js";
