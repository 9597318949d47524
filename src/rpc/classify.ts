import { RateLimitedError, TimeoutError, UpstreamError, type AttError } from "../kernel/errors.js";
import { scrubSecrets } from "../kernel/logger.js";
import {
  RPC_UNAVAILABLE,
  RpcError,
  RpcMethodUnsupportedError,
  RpcRevertError,
  type RpcErrorObject,
} from "./errors.js";

/**
 * The one classifier of remote failures: what went wrong on the way (transport), what the
 * HTTP status says, and what a JSON-RPC error object means. Every client (HTTP, WebSocket)
 * and every provider goes through these functions, so that the same answer is the same error
 * everywhere — see the table in errors.ts.
 */

/** Where the request went (already scrubbed) and what to do when it cannot be reached. */
export interface FailureContext {
  /** Names the request in messages, e.g. "JSON-RPC eth_getBlockByNumber" or "Etherscan txlist". */
  what: string;
  /** The URL with its secrets masked (`scrubSecrets`). */
  shownUrl: string;
  /** Pause for a rate limit that names no Retry-After. */
  rateLimitPauseMs: number;
  /**
   * True for a JSON-RPC node: an unreachable node or a 5xx is RPC_UNAVAILABLE ("the node");
   * for an HTTP API it is the kernel's ATT_UPSTREAM_UNAVAILABLE ("the server").
   */
  node?: boolean;
  /** A "Fix: …" line added to unavailability errors (e.g. how to start the node). */
  fix?: string;
}

/** `fetch` threw: our timeout fired (TimeoutError), the caller aborted (its reason), or the server is unreachable. */
export function transportError(
  err: unknown,
  ctx: FailureContext & { timeoutMs: number; timedOut: boolean; signal?: AbortSignal },
): unknown {
  if (ctx.signal?.aborted) return ctx.signal.reason ?? err;
  if (ctx.timedOut) {
    return new TimeoutError(`${ctx.what} timed out after ${ctx.timeoutMs} ms`, {
      details: [`URL: ${ctx.shownUrl}`],
    });
  }
  return new UpstreamError(`${ctx.what} could not reach the ${ctx.node ? "node" : "server"}`, {
    ...(ctx.node ? { code: RPC_UNAVAILABLE } : {}),
    details: [
      `URL: ${ctx.shownUrl}`,
      `Cause: ${scrubSecrets(causeMessage(err))}`,
      ...(ctx.fix ? [ctx.fix] : []),
    ],
  });
}

/**
 * An HTTP status that is an answer about the server, not about the request: 429 (rate limited,
 * pausing for its Retry-After in seconds or as an HTTP date) and 5xx (unavailable). Other
 * statuses return undefined: their body is read (a JSON-RPC node may answer 4xx with an error
 * object; an API's 403 HTML page is a bad answer).
 */
export function statusError(
  status: number,
  retryAfter: string | null,
  /** The body with the request's secrets already scrubbed (a server may echo them). */
  shownBody: string,
  ctx: FailureContext,
): AttError | undefined {
  if (status === 429) {
    return new RateLimitedError(`${ctx.what} was rate limited (HTTP 429 Too Many Requests)`, {
      retryAfterMs: retryAfterMs(retryAfter) ?? ctx.rateLimitPauseMs,
      details: [`URL: ${ctx.shownUrl}`, ...(retryAfter ? [`Retry-After: ${retryAfter}`] : [])],
    });
  }
  if (status >= 500) {
    return new UpstreamError(`${ctx.what} answered HTTP ${status}`, {
      ...(ctx.node ? { code: RPC_UNAVAILABLE } : {}),
      details: [`URL: ${ctx.shownUrl}`, `Body: ${shownBody.slice(0, 200)}`],
    });
  }
  return undefined;
}

/** Retry-After as milliseconds: delta-seconds ("30") or an HTTP date (RFC 9110 §10.2.3); undefined if absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds * 1000 : undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) || at <= now ? undefined : at - now;
}

/**
 * -32005 is EIP-1474's "limit exceeded" (Infura's rate limit); 429 is used as a JSON-RPC code by
 * some gateways; others only say it in words.
 */
const RATE_LIMIT = /rate.?limit|too many requests/i;
const NEGATIVE = /not found|not supported|unsupported|does not exist|not available|unknown|not allowed/i;

/** Whether the node said "slow down". */
export function isRateLimit(e: RpcErrorObject): boolean {
  return e.code === -32005 || e.code === 429 || RATE_LIMIT.test(e.message);
}

/**
 * Whether a JSON-RPC error means "this node has no such method" (then a fallback is right, a
 * retry is not): -32601, or another code whose message says so about the method (geth: "the
 * method x does not exist/is not available", some gateways: -32600 "Unsupported method").
 * A message that does not name the method ("historical state not available") is not enough.
 */
export function isUnsupportedMethod(e: RpcErrorObject): boolean {
  return e.code === -32601 || (/method/i.test(e.message) && NEGATIVE.test(e.message));
}

/** Whether a call executed and reverted (an answer about the contract): code 3 (geth, anvil) or the EVM's words. */
export function isRevert(e: RpcErrorObject): boolean {
  return e.code === 3 || /revert|invalid opcode|out of gas/i.test(e.message);
}

/** The error a JSON-RPC error object of `method` stands for (see the table in errors.ts). */
export function rpcError(method: string, e: RpcErrorObject, ctx: FailureContext): AttError {
  const said = scrubSecrets(e.message).slice(0, 200);
  const details = [`Code: ${e.code}`, `URL: ${ctx.shownUrl}`];
  const opts = { method, error: e, details };
  // A revert first: its reason is the contract's text ("rate limited" is a token's own rule).
  if (isRevert(e)) return new RpcRevertError(`JSON-RPC ${method} reverted: ${said}`, opts);
  if (isRateLimit(e)) {
    return new RateLimitedError(`JSON-RPC ${method} was rate limited: ${said}`, {
      retryAfterMs: ctx.rateLimitPauseMs,
      details,
    });
  }
  if (isUnsupportedMethod(e)) {
    return new RpcMethodUnsupportedError(
      `JSON-RPC method ${method} is not supported by the node: ${said}`,
      opts,
    );
  }
  return new RpcError(`JSON-RPC ${method} failed: ${said}`, opts);
}

function causeMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
