import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../../kernel/errors.js";
import { scrubSecrets } from "../../kernel/logger.js";
import { requestJson } from "../http.js";
import type { FirstTxProvider } from "../types.js";

export interface EtherscanOptions {
  /** e.g. https://api.etherscan.io/v2/api (Blockscout: https://…/api). */
  url: string;
  apiKey?: string;
  chainId: number;
  timeoutMs: number;
  rateLimitPauseMs: number;
}

interface TxlistBody {
  status?: string;
  message?: string;
  result?: unknown;
}

/**
 * An address's first transaction from the Etherscan-compatible `txlist` API
 * (`module=account&action=txlist&page=1&offset=1&sort=asc`):
 * `{status:"1", result:[{timeStamp}]}` → the time; `{status:"0", message:"No transactions found",
 * result:[]}` → null; `result:"Max calls per sec rate limit reached (3/sec)"` (v1: "Max rate limit
 * reached") → RateLimitedError (the queue pauses); "Max daily rate limit reached…" → RateLimitedError
 * that pauses the queue until 00:00 UTC (the free tier's 100,000 calls/day; retrying sooner only
 * burns requests);
 * `result:"Invalid API Key"` and other definitive refusals → PermanentUpstreamError; anything
 * else → retryable UpstreamError.
 */
export function createEtherscanFirstTx(opts: EtherscanOptions): FirstTxProvider {
  return {
    name: "etherscan",
    async fetch(address, signal) {
      const u = new URL(opts.url);
      u.searchParams.set("chainid", String(opts.chainId));
      u.searchParams.set("module", "account");
      u.searchParams.set("action", "txlist");
      u.searchParams.set("address", address);
      u.searchParams.set("page", "1");
      u.searchParams.set("offset", "1");
      u.searchParams.set("sort", "asc");
      if (opts.apiKey) u.searchParams.set("apikey", opts.apiKey);
      const { status, body } = await requestJson(u.toString(), {
        timeoutMs: opts.timeoutMs,
        rateLimitPauseMs: opts.rateLimitPauseMs,
        ...(signal ? { signal } : {}),
      });
      const b = (body ?? {}) as TxlistBody;
      if (b.status === "1" && Array.isArray(b.result)) {
        const ts = Number((b.result[0] as { timeStamp?: unknown } | undefined)?.timeStamp);
        if (b.result.length === 0) return null;
        if (Number.isSafeInteger(ts) && ts >= 0) return ts;
        throw new UpstreamError("Etherscan txlist answered without a valid timeStamp", {
          code: "ATT_ETHERSCAN_BAD_ANSWER",
          details: [`Got: ${JSON.stringify(b.result[0]).slice(0, 200)}`],
        });
      }
      if (b.status === "0" && Array.isArray(b.result) && /no transactions found/i.test(b.message ?? ""))
        return null;
      const result = typeof b.result === "string" ? scrubSecrets(b.result) : JSON.stringify(b.result ?? null);
      const details = [
        `HTTP ${status}`,
        `Message: ${b.message ?? "(none)"}`,
        `Result: ${result.slice(0, 200)}`,
      ];
      // Checked before the per-second limit, whose pattern it also matches.
      if (/daily.*limit/i.test(result)) {
        const resumeAt = nextUtcMidnight(Date.now());
        throw new RateLimitedError("Etherscan: daily call limit reached; lookups pause until 00:00 UTC", {
          retryAfterMs: resumeAt - Date.now(),
          details: [
            ...details,
            `Resumes at: ${new Date(resumeAt).toISOString()}`,
            "Fix: a paid Etherscan plan (ATT_ETHERSCAN_API_KEY), or ATT_ENRICH_FIRST_TX_PROVIDER=otterscan on your own node.",
          ],
        });
      }
      if (/rate limit/i.test(result)) {
        throw new RateLimitedError("Etherscan: rate limit reached", {
          retryAfterMs: opts.rateLimitPauseMs,
          details,
        });
      }
      if (/invalid api key|missing.*api key|api key.*(missing|invalid)/i.test(result)) {
        throw new PermanentUpstreamError("Etherscan rejected the API key", {
          code: "ATT_ETHERSCAN_INVALID_KEY",
          details,
        });
      }
      if (/invalid address|chainid|invalid action|missing or invalid/i.test(result)) {
        throw new PermanentUpstreamError("Etherscan rejected the request", {
          code: "ATT_ETHERSCAN_REJECTED",
          details,
        });
      }
      throw new UpstreamError("Etherscan txlist failed", { code: "ATT_ETHERSCAN_ERROR", details });
    },
  };
}

/** The next 00:00 UTC after `nowMs` (when Etherscan's daily call budget starts again). */
export function nextUtcMidnight(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
