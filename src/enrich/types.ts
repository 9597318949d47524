/** What is known about one token contract (from the RPC node, Ethplorer, or a token list). */
export interface TokenMeta {
  /** Lower-case 0x address. */
  address: string;
  /**
   * `erc20`: `decimals()` answered. `not-erc20`: the address is no token (no code, the calls
   * revert, or the API said "not a token contract"). `unknown`: the provider answered without
   * telling decimals. Only `decimals` matters to the features: a token without decimals is
   * skipped, as the bot skipped it.
   */
  kind: "erc20" | "not-erc20" | "unknown";
  symbol: string | null;
  name: string | null;
  decimals: number | null;
}

/**
 * Why a value could not be had: carried into the INVALID finding of every transaction that
 * needed it. `code` is stable (ATT_…); `reason` is a sentence for people.
 */
export interface EnrichmentFailure {
  readonly failed: true;
  readonly code: string;
  readonly reason: string;
}

export function enrichmentFailure(code: string, reason: string): EnrichmentFailure {
  return { failed: true, code, reason };
}

export function isEnrichmentFailure(v: unknown): v is EnrichmentFailure {
  return typeof v === "object" && v !== null && (v as { failed?: unknown }).failed === true;
}

/** What `resolveBatch` returns: per token address and per sender, the value or why it is missing. */
export interface ResolvedEnrichment {
  tokens: Map<string, TokenMeta | EnrichmentFailure>;
  /** Unix seconds of the first transaction, null when the provider knows none. */
  firstTx: Map<string, number | null | EnrichmentFailure>;
}

/** Looks up token metadata for a group of addresses (one API call or JSON-RPC batch per address group). */
export interface TokenMetadataProvider {
  readonly name: "rpc" | "ethplorer";
  /** Resolves every address, or throws an AttError for the whole group (retryable or not). */
  fetch(addresses: string[], signal?: AbortSignal): Promise<TokenMeta[]>;
}

/** Looks up the timestamp of an address's first transaction. */
export interface FirstTxProvider {
  readonly name: "otterscan" | "etherscan";
  /** Unix seconds, or null when the provider knows no transaction of the address. */
  fetch(address: string, signal?: AbortSignal): Promise<number | null>;
}
