export { createEnricher, type Enricher } from "./enricher.js";
export { createFirstTxProvider, createTokenProvider, DEFAULT_RATE_MAX } from "./providers/index.js";
export * from "./types.js";
