import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { isEnrichmentFailure, type ResolvedEnrichment } from "../enrich/types.js";
import { FeatureErrorCodes, type FeatureContext, type TokenMeta } from "./types.js";

/**
 * Builds the context `computeFeatures` needs for one transaction out of a batch's resolved
 * enrichment, or says why it cannot: the first unresolved value's code and reason (e.g.
 * `ATT_ENRICHMENT_TIMEOUT: first-transaction time of 0x… not available within 5000 ms`).
 * Only what the model needs is required (`needsTokens`, `needsFirstTx`: both default true).
 */
export function contextFor(
  tx: TokenTransferTx,
  resolved: ResolvedEnrichment,
  opts: { needsFirstTx?: boolean; needsTokens?: boolean } = {},
): { ok: true; ctx: FeatureContext } | { ok: false; code: string; reason: string } {
  const tokens = new Map<string, TokenMeta>();
  // A model without token-metadata features does not fail on a token that could not be resolved.
  if (opts.needsTokens !== false)
    for (const t of tx.transfers) {
      if (tokens.has(t.token)) continue;
      const meta = resolved.tokens.get(t.token);
      if (meta === undefined) {
        return {
          ok: false,
          code: FeatureErrorCodes.enrichmentMissing,
          reason: `Token metadata of ${t.token} was not requested`,
        };
      }
      if (isEnrichmentFailure(meta)) return { ok: false, code: meta.code, reason: meta.reason };
      tokens.set(t.token, meta);
    }
  let firstTxTimestamp: number | null = null;
  if (opts.needsFirstTx !== false) {
    const first = resolved.firstTx.get(tx.from);
    if (first === undefined) {
      return {
        ok: false,
        code: FeatureErrorCodes.enrichmentMissing,
        reason: `First-transaction time of ${tx.from} was not requested`,
      };
    }
    if (isEnrichmentFailure(first)) return { ok: false, code: first.code, reason: first.reason };
    firstTxTimestamp = first;
  }
  return { ok: true, ctx: { tokens, firstTxTimestamp } };
}
