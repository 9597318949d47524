export { createEnricher, type Enricher, type EnricherDeps, type EnrichOptions } from "./enricher.js";
export { createEnrichWorkers, type EnrichWorkers, type EnrichWorkersDeps } from "./worker.js";
export {
  createFirstTxProvider,
  createTokenProvider,
  DEFAULT_RATE_MAX,
  type EnrichConfig,
} from "./providers/index.js";
export * from "./types.js";
