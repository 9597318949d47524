import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import type { Attribution } from "../sink/findings.js";

/**
 * What the batch processor needs from the feature, enrichment and model stages. The score
 * command wires the real implementations; keeping the processor on these narrow ports keeps
 * it small and lets `att tx` reuse it without Kafka.
 */

/** Features of one transaction, or why they cannot be computed. */
export type FeatureOutcome =
  | {
      ok: true;
      /** Model input in the model's feature order. */
      values: Float32Array;
      named: Record<string, number>;
      tokenTypes: string[];
      maxSingleTokenName: string;
    }
  | { ok: false; code: string; reason: string; named?: Record<string, number>; tokenTypes?: string[] };

export interface FeaturePort {
  /** Resolves enrichment for a whole batch (one cache round trip, misses queued together), then computes features. */
  computeBatch(
    txs: TokenTransferTx[],
    opts: { deadlineMs: number; signal?: AbortSignal },
  ): Promise<FeatureOutcome[]>;
}

export interface ModelPort {
  readonly version: string;
  readonly threshold: number;
  readonly featureCount: number;
  /** att-model/2 only: the card's label names and score kind, carried into every finding (docs/model.md). */
  readonly labels?: { positive: string; negative: string } | undefined;
  readonly scoreKind?: string | undefined;
  /** The card's scores (abs(score_samples) for an IsolationForest) of `n` rows laid out row-major in `rows`; one model call. */
  scoreRows(rows: Float32Array, n: number): Promise<ArrayLike<number>>;
  /** Top-k attributions of one row, strongest first. */
  explain(row: Float32Array, topK: number): Attribution[];
}
