import type { TokenMeta } from "../enrich/types.js";

export type { TokenMeta };
/**
 * Types shared by the feature extractor and the enrichment stage.
 *
 * The names and semantics of the features are the ATT bot's (forta-network/starter-kits,
 * `anomalous-token-transfers-ml-py/src/utils/data_processing.py`, `get_features`).
 */

/** One token of the model card. */
export interface FeatureSpecToken {
  symbol: string;
  /** Lower- or mixed-case 0x address; required when the model matches tokens by address. */
  address?: string;
}

/**
 * What the extractor needs from the model card (`models/registry/<version>/model.json`):
 * the ordered feature names and how a model token is recognised.
 */
export interface FeatureSpec {
  /** Feature names in the model's column order. */
  features: string[];
  /**
   * `symbol`: a transfer counts for `<SYMBOL>_…` when the token's symbol equals SYMBOL (how the
   * ATT model was trained — a fake token calling itself USDC counts as USDC). `address`: only
   * the contract address named in `tokens` counts.
   */
  tokenMatch: "symbol" | "address";
  tokens: FeatureSpecToken[];
}

export interface FeatureContext {
  /** Metadata of every token the transaction touches, keyed by lower-case address. */
  tokens: ReadonlyMap<string, TokenMeta>;
  /** Unix seconds of the sender's first transaction; null when the provider knows none. */
  firstTxTimestamp: number | null;
}

export type FeatureResult =
  | {
      ok: true;
      /** Model input, in `spec.features` order. */
      values: Float32Array;
      /** Every spec feature by name, as computed (double precision, before the float32 cast). */
      named: Record<string, number>;
      /** Sorted `"<name>-<symbol>"` of the tokens counted, as the bot's `token_types`. */
      tokenTypes: string[];
      /** Name of the token with most transfers (the first to reach that count), "" if none. */
      maxSingleTokenName: string;
      /** Every Transfer log of the transaction, counted or not. */
      transferCount: number;
    }
  | { ok: false; code: FeatureErrorCode | string; reason: string };

/** Stable codes of the reasons a transaction cannot get features (carried into INVALID findings). */
export const FeatureErrorCodes = {
  /** Token metadata or first-transaction time was not resolved. */
  enrichmentMissing: "ATT_ENRICHMENT_MISSING",
  /** The provider knows no transaction of the sender (e.g. an indexer lagging behind the chain). */
  firstTxNotFound: "ATT_FIRST_TX_NOT_FOUND",
  /** The sender's first transaction is later than this one. */
  negativeActivePeriod: "ATT_FEATURE_NEGATIVE_ACTIVE_PERIOD",
  /** A feature is NaN, infinite, or too large for the model's float32 input. */
  notFinite: "ATT_FEATURE_NOT_FINITE",
} as const;
export type FeatureErrorCode = (typeof FeatureErrorCodes)[keyof typeof FeatureErrorCodes];
