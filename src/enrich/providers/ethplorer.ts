import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../../kernel/errors.js";
import { requestJson } from "../http.js";
import type { TokenMeta, TokenMetadataProvider } from "../types.js";

export interface EthplorerOptions {
  /** e.g. https://api.ethplorer.io */
  url: string;
  apiKey: string;
  timeoutMs: number;
  rateLimitPauseMs: number;
}

interface TokenInfoBody {
  address?: string;
  name?: unknown;
  symbol?: unknown;
  decimals?: unknown;
  error?: { code?: number; message?: string };
}

/**
 * Token metadata from Ethplorer's `GET {url}/getTokenInfo/{address}?apiKey=…`, which answers
 * `{ address, name, symbol, decimals: "6", totalSupply, … }` or `{ error: { code, message } }`.
 * Codes from Ethplorer's API controller: 150 "Address is not a token contract" → kind
 * `not-erc20` (an answer, cached like one); 1 "Invalid API key" and 103/104 (missing/invalid
 * address) → PermanentUpstreamError; HTTP 429 or code 429 → RateLimitedError; anything else
 * (3 "Database connection failed", 5xx) → retryable UpstreamError.
 * Ethplorer has no batch endpoint: one request per address.
 */
export function createEthplorerTokens(opts: EthplorerOptions): TokenMetadataProvider {
  async function one(address: string, signal?: AbortSignal): Promise<TokenMeta> {
    const u = new URL(`${opts.url.replace(/\/$/, "")}/getTokenInfo/${address}`);
    u.searchParams.set("apiKey", opts.apiKey);
    const { status, body } = await requestJson(u.toString(), {
      timeoutMs: opts.timeoutMs,
      rateLimitPauseMs: opts.rateLimitPauseMs,
      ...(signal ? { signal } : {}),
    });
    const b = (body ?? {}) as TokenInfoBody;
    if (b.error) {
      const code = Number(b.error.code);
      const details = [`HTTP ${status}`, `Error: ${code} ${b.error.message ?? ""}`.trim()];
      if (code === 150) return { address, kind: "not-erc20", symbol: null, name: null, decimals: null };
      if (code === 429)
        throw new RateLimitedError("Ethplorer: too many requests", {
          retryAfterMs: opts.rateLimitPauseMs,
          details,
        });
      if (code === 1)
        throw new PermanentUpstreamError("Ethplorer rejected the API key", {
          code: "ATT_ETHPLORER_INVALID_KEY",
          details,
        });
      if (code === 103 || code === 104)
        throw new PermanentUpstreamError("Ethplorer rejected the address", {
          code: "ATT_ETHPLORER_REJECTED",
          details,
        });
      throw new UpstreamError("Ethplorer getTokenInfo failed", { code: "ATT_ETHPLORER_ERROR", details });
    }
    if (status !== 200 || typeof body !== "object" || body === null) {
      throw new UpstreamError(`Ethplorer answered HTTP ${status} without token info`, {
        code: "ATT_ETHPLORER_BAD_ANSWER",
      });
    }
    const decimals = parseDecimals(b.decimals);
    return {
      address,
      kind: decimals === null ? "unknown" : "erc20",
      // The bot used data.get("symbol"): an empty string stays an empty string.
      symbol: typeof b.symbol === "string" ? b.symbol : null,
      name: typeof b.name === "string" ? b.name : null,
      decimals,
    };
  }
  return {
    name: "ethplorer",
    async fetch(addresses, signal) {
      const out: TokenMeta[] = [];
      for (const a of addresses) out.push(await one(a, signal));
      return out;
    },
  };
}

/** Ethplorer sends decimals as a string ("18"); anything but 0..255 means "not known". */
function parseDecimals(v: unknown): number | null {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  if (!/^\d{1,3}$/.test(s)) return null;
  const n = Number(s);
  return n <= 255 ? n : null;
}
