export { computeFeatures } from "./compute.js";
export { createFeatureBatcher, type BatchResolver } from "./batch.js";
export * from "./types.js";
