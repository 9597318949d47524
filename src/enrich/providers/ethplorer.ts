import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../../kernel/errors.js";
import { badAnswer, isRecord } from "../../rpc/errors.js";
import { requestJson } from "../../rpc/http.js";
import type { TokenMeta, TokenMetadataProvider } from "../types.js";

export interface EthplorerOptions {
  /** e.g. https://api.ethplorer.io */
  url: string;
  apiKey: string;
  timeoutMs: number;
  rateLimitPauseMs: number;
}

const EXPECTED =
  '{address: the requested address, name: string, symbol: string, decimals: "<digits>", totalSupply, …} or {error: {code: number, message: string}}';

/**
 * Token metadata from Ethplorer's `GET {url}/getTokenInfo/{address}?apiKey=…`, which answers
 * `{ address, name, symbol, decimals: "6", totalSupply, … }` or `{ error: { code, message } }`.
 * Codes from Ethplorer's API controller: 150 "Address is not a token contract" → kind
 * `not-erc20` (an answer, cached like one); 1 "Invalid API key" and 103/104 (missing/invalid
 * address) → PermanentUpstreamError; HTTP 429 or code 429 → RateLimitedError; any other code
 * (3 "Database connection failed", 5xx) → retryable UpstreamError.
 * Any other shape — no `address` or another token's, `decimals` that is neither a string nor a
 * number, `name`/`symbol` that are not strings, an `error` that is not `{code: number, message: string}`, not JSON — is
 * a BadAnswerError (ATT_PROVIDER_BAD_ANSWER): retried and never cached as a token or as "not a
 * token" (issue 13). `decimals` that is a string but not 0..255 ("") is Ethplorer's "unknown".
 * Ethplorer has no batch endpoint: one request per address.
 */
export function createEthplorerTokens(opts: EthplorerOptions): TokenMetadataProvider {
  async function one(address: string, signal?: AbortSignal): Promise<TokenMeta> {
    const u = new URL(`${opts.url.replace(/\/$/, "")}/getTokenInfo/${address}`);
    u.searchParams.set("apiKey", opts.apiKey);
    const url = u.toString();
    const what = "Ethplorer getTokenInfo";
    const { status, body, text } = await requestJson(url, {
      timeoutMs: opts.timeoutMs,
      rateLimitPauseMs: opts.rateLimitPauseMs,
      what,
      expected: EXPECTED,
      ...(signal ? { signal } : {}),
    });
    const bad = () => badAnswer(what, { url, status, got: text, expected: EXPECTED });
    if (!isRecord(body)) throw bad();
    if ("error" in body) {
      const e = body.error;
      if (!isRecord(e) || typeof e.code !== "number" || typeof e.message !== "string") throw bad();
      const code = e.code;
      const details = [`HTTP ${status}`, `Error: ${code} ${e.message}`];
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
    const { name, symbol, decimals } = body;
    if (
      status !== 200 ||
      typeof body.address !== "string" ||
      body.address.toLowerCase() !== address.toLowerCase() ||
      (typeof decimals !== "string" && typeof decimals !== "number") ||
      (name !== undefined && typeof name !== "string") ||
      (symbol !== undefined && typeof symbol !== "string")
    )
      throw bad();
    const d = parseDecimals(decimals);
    return {
      address,
      kind: d === null ? "unknown" : "erc20",
      // The bot used data.get("symbol"): an empty string stays an empty string.
      symbol: symbol ?? null,
      name: name ?? null,
      decimals: d,
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
function parseDecimals(v: string | number): number | null {
  const s = typeof v === "number" ? String(v) : v.trim();
  if (!/^\d{1,3}$/.test(s)) return null;
  const n = Number(s);
  return n <= 255 ? n : null;
}
