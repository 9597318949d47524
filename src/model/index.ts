/**
 * The scoring engine: load a verified model folder, score batches with onnxruntime-node,
 * explain rows with exact TreeSHAP. docs/model.md.
 */
export { loadModel } from "./load.js";
export { REFINE_MARGIN, type Model } from "./model.js";
export { resolveModelDir } from "./registry.js";
export { modelSettingsFromConfig, loadConfiguredModel } from "./from-config.js";
