import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../../kernel/errors.js";
import { scrubSecrets } from "../../kernel/logger.js";
import { badAnswer, isRecord } from "../../rpc/errors.js";
import { requestJson } from "../../rpc/http.js";
import type { FirstTxProvider } from "../types.js";

export interface EtherscanOptions {
  /** e.g. https://api.etherscan.io/v2/api (Blockscout: https://…/api). */
  url: string;
  apiKey?: string;
  chainId: number;
  timeoutMs: number;
  rateLimitPauseMs: number;
}

/** The documented answers; anything else is a bad answer. */
const EXPECTED =
  '{status:"1", message, result:[{timeStamp:"<digits>", …}]}, {status:"0", message:"No transactions found", result:[]} or an error {status:"0", message:"NOTOK", result:"<error text>"}';

/**
 * An address's first transaction from the Etherscan-compatible `txlist` API
 * (`module=account&action=txlist&page=1&offset=1&sort=asc`):
 * `{status:"1", result:[{timeStamp}]}` → the time; `{status:"0", message:"No transactions found",
 * result:[]}` → null; `result:"Max calls per sec rate limit reached (3/sec)"` (v1: "Max rate limit
 * reached") → RateLimitedError (the queue pauses); "Max daily rate limit reached…" → RateLimitedError
 * that pauses the queue until 00:00 UTC (the free tier's 100,000 calls/day; retrying sooner only
 * burns requests);
 * `result:"Invalid API Key"` and other definitive refusals → PermanentUpstreamError; any other
 * error text → retryable UpstreamError. An answer in none of these shapes (`result` an object, a
 * `status:"1"` without transactions, a number as `timeStamp`, no `status`, not JSON) is a
 * BadAnswerError (ATT_PROVIDER_BAD_ANSWER): retried, never cached, never "no transaction" (issue 13).
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
      const url = u.toString();
      const what = "Etherscan txlist";
      const { status, body, text } = await requestJson(url, {
        timeoutMs: opts.timeoutMs,
        rateLimitPauseMs: opts.rateLimitPauseMs,
        what,
        expected: EXPECTED,
        ...(signal ? { signal } : {}),
      });
      const bad = () => badAnswer(what, { url, status, got: text, expected: EXPECTED });
      // `message` varies ("OK", "OK-Missing/Invalid API Key, rate limit of 1/5sec applied"): a string.
      if (!isRecord(body) || typeof body.message !== "string") throw bad();
      const b = body as { status: unknown; message: string; result: unknown };
      if (b.status === "1") {
        const first: unknown = Array.isArray(b.result) ? b.result[0] : undefined;
        const ts = isRecord(first) && typeof first.timeStamp === "string" ? first.timeStamp : "";
        if (!/^\d{1,15}$/.test(ts)) throw bad();
        return Number(ts);
      }
      if (b.status !== "0") throw bad();
      if (Array.isArray(b.result)) {
        if (b.result.length === 0 && /^no transactions found$/i.test(b.message)) return null;
        throw bad();
      }
      // An error is {status:"0", message:"NOTOK", result:"<error text>"}.
      if (typeof b.result !== "string" || b.message !== "NOTOK") throw bad();
      const result = scrubSecrets(b.result, opts.apiKey ? [opts.apiKey] : []);
      const details = [`HTTP ${status}`, `Message: ${b.message}`, `Result: ${result.slice(0, 200)}`];
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
