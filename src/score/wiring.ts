import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { createFeatureBatcher, type BatchResolver, type FeatureSpec } from "../features/index.js";
import type { Model } from "../model/index.js";
import type { FeaturePort, ModelPort } from "./ports.js";

/** The feature spec a model card implies: its ordered features and how its tokens are matched. */
export function featureSpecOf(model: Model): FeatureSpec {
  return {
    features: [...model.features],
    tokenMatch: model.card.token_match,
    tokens: model.card.tokens.map((t) => ({
      symbol: t.symbol,
      ...(t.address ? { address: t.address } : {}),
    })),
  };
}

export function featurePort(enricher: BatchResolver, model: Model): FeaturePort {
  const batcher = createFeatureBatcher({ enricher, spec: featureSpecOf(model) });
  return {
    computeBatch: (txs: TokenTransferTx[], opts) => batcher.computeBatch(txs, opts),
  };
}

export function modelPort(model: Model): ModelPort {
  return {
    version: model.version,
    threshold: model.threshold,
    featureCount: model.featureCount,
    ...(model.card.format === "att-model/2" ? { labels: model.labels, scoreKind: model.scoreKind } : {}),
    scoreRows: (rows, n) => model.scoreRows(rows, n),
    explain: (row, topK) => model.explain(row, topK),
  };
}
