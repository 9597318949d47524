import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import type { ResolvedEnrichment } from "../enrich/types.js";
import { computeFeatures } from "./compute.js";
import { contextFor } from "./context.js";
import { compileSpec } from "./spec.js";
import type { FeatureResult, FeatureSpec } from "./types.js";

/** The part of the enricher a feature batcher needs (see `createEnricher`). */
export interface BatchResolver {
  resolveBatch(
    txs: TokenTransferTx[],
    opts: { deadlineMs: number; signal?: AbortSignal; firstTx?: boolean },
  ): Promise<ResolvedEnrichment>;
}

/** What a batch resolves when its model needs no enrichment at all (transaction-level features only). */
const NOTHING: ResolvedEnrichment = { tokens: new Map(), firstTx: new Map() };

/**
 * Features of a whole consumer batch: one `resolveBatch` (one cache round trip, misses queued
 * together), then `computeFeatures` per transaction. One result per input, in order. A model
 * that needs neither token metadata nor first-transaction times asks the enricher nothing.
 */
export function createFeatureBatcher(deps: { enricher: BatchResolver; spec: FeatureSpec }): {
  computeBatch(
    txs: TokenTransferTx[],
    opts: { deadlineMs: number; signal?: AbortSignal },
  ): Promise<FeatureResult[]>;
} {
  const plan = compileSpec(deps.spec);
  return {
    async computeBatch(txs, opts) {
      // The enricher always resolves token metadata; it is only skipped when nothing is needed.
      const resolved =
        plan.needsTokens || plan.needsFirstTx
          ? await deps.enricher.resolveBatch(txs, { ...opts, firstTx: plan.needsFirstTx })
          : NOTHING;
      const needs = { needsFirstTx: plan.needsFirstTx, needsTokens: plan.needsTokens };
      return txs.map((tx) => {
        const c = contextFor(tx, resolved, needs);
        return c.ok ? computeFeatures(tx, c.ctx, deps.spec) : c;
      });
    },
  };
}
