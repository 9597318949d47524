export { computeFeatures } from "./compute.js";
export { contextFor } from "./context.js";
export { createFeatureBatcher, type BatchResolver } from "./batch.js";
export { compileSpec, GENERIC_FEATURES, type CompiledSpec } from "./spec.js";
export { normalizedTransferValue, pyRound3, scaledValue } from "./python-number.js";
export * from "./types.js";
