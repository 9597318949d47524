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

/**
 * Features of a whole consumer batch: one `resolveBatch` (one cache round trip, misses queued
 * together), then `computeFeatures` per transaction. One result per input, in order.
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
      const resolved = await deps.enricher.resolveBatch(txs, { ...opts, firstTx: plan.needsFirstTx });
      return txs.map((tx) => {
        const c = contextFor(tx, resolved, { needsFirstTx: plan.needsFirstTx });
        return c.ok ? computeFeatures(tx, c.ctx, deps.spec) : c;
      });
    },
  };
}
