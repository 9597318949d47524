import type { TokenMeta } from "./types.js";

/** The two lookups the enrichment stage performs. */
export type LookupKind = "token" | "firsttx";

/** A resolved value: token metadata, or first-transaction seconds (null = no transaction known). */
export type LookupValue = TokenMeta | number | null;

/** One BullMQ queue per provider, so every provider has its own global rate limit. */
export function queueName(kind: LookupKind, provider: string): string {
  return `enrich-${kind}-${provider}`;
}

/**
 * The job id that de-duplicates a lookup across processes: at most one job per key exists at a
 * time. BullMQ ids may not contain ':' nor be all digits; `token-1-0xabc…` is neither.
 */
export function jobId(kind: LookupKind, chainId: number, address: string): string {
  return `${kind}-${chainId}-${address}`;
}

/** The Redis key of a cached value, shared by every replica. */
export function cacheKey(prefix: string, kind: LookupKind, chainId: number, address: string): string {
  return `${prefix}:enrich-cache:${kind}:${chainId}:${address}`;
}

/** Cache encoding: token metadata as compact JSON, first-tx time as digits or "none". */
export function encodeValue(kind: LookupKind, value: LookupValue): string {
  if (kind === "firsttx") return value === null ? "none" : String(value);
  const t = value as TokenMeta;
  return JSON.stringify({ k: t.kind, s: t.symbol, n: t.name, d: t.decimals });
}

export function decodeValue(kind: LookupKind, address: string, raw: string): LookupValue {
  if (kind === "firsttx") return raw === "none" ? null : Number(raw);
  const o = JSON.parse(raw) as { k: TokenMeta["kind"]; s: string | null; n: string | null; d: number | null };
  return { address, kind: o.k, symbol: o.s, name: o.n, decimals: o.d };
}
