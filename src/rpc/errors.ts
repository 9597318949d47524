import { PermanentUpstreamError, UpstreamError, type AttErrorOptions } from "../kernel/errors.js";
import { scrubSecrets, urlSecrets } from "../kernel/logger.js";

/**
 * Errors of the remote-API boundary (JSON-RPC nodes and the HTTP APIs of enrichment). Each
 * says retry or not through the kernel hierarchy; `classify.ts` decides which one an answer is.
 *
 *   RateLimitedError (kernel)   retryable, pause `retryAfterMs`   HTTP 429, -32005, 429, "rate limit"
 *   RpcMethodUnsupportedError   permanent, use a fallback          -32601, "method … not found/supported"
 *   RpcRevertError              permanent, an answer               3, "execution reverted", invalid opcode
 *   RpcError                    retryable                          any other JSON-RPC error object
 *   BadAnswerError              retryable, never cached            an answer in a shape we do not know
 *   UpstreamError RPC_UNAVAILABLE / TimeoutError (kernel)  retryable   network, 5xx, timeouts
 */

/** A JSON-RPC node that could not be reached, answered 5xx, or whose socket is down. */
export const RPC_UNAVAILABLE = "ATT_RPC_UNAVAILABLE";

/**
 * The one code for "the provider answered in a shape we do not know" (wrong type, missing
 * field, unexpected structure, a body that is not JSON, an HTML error page), for every
 * enrichment provider and every JSON-RPC node (issue 13). Such an answer is never read as
 * "not found" and never cached: it is retried like any transient failure, and after the last
 * attempt the lookup fails with it.
 */
export const BAD_ANSWER_CODE = "ATT_PROVIDER_BAD_ANSWER";

/** How much of a received answer an error message shows. */
const SHOWN_CHARS = 200;

/** A provider answer in a shape we do not know. Retryable; see BAD_ANSWER_CODE. */
export class BadAnswerError extends UpstreamError {
  constructor(shortMessage: string, opts: { got: string; expected: string; url?: string }) {
    super(shortMessage, {
      code: BAD_ANSWER_CODE,
      details: [...(opts.url ? [`URL: ${opts.url}`] : []), `Got: ${opts.got}`, `Expected: ${opts.expected}`],
    });
  }
}

/**
 * A BadAnswerError for `what` (e.g. "Etherscan txlist"). `got` is the raw body text or a parsed
 * value; it is shown with the request's secrets (query keys, URL password) and any API key
 * pattern removed, then truncated — scrubbed first, so a key cut in half cannot slip through.
 */
export function badAnswer(
  what: string,
  opts: { url: string; got: unknown; expected: string; status?: number },
): BadAnswerError {
  const raw = typeof opts.got === "string" ? opts.got : (JSON.stringify(opts.got) ?? String(opts.got));
  const scrubbed = scrubSecrets(raw, urlSecrets(opts.url)).replace(/\s+/g, " ").trim();
  const shown = scrubbed.length > SHOWN_CHARS ? `${scrubbed.slice(0, SHOWN_CHARS)}…` : scrubbed;
  const prefix = opts.status === undefined ? "" : `HTTP ${opts.status}, `;
  return new BadAnswerError(`${what} answered in a shape we do not know`, {
    url: scrubSecrets(opts.url),
    got: `${prefix}${shown === "" ? "an empty body" : shown}`,
    expected: opts.expected,
  });
}

/** A JSON object (not an array, not null): what every answer we read is at its root. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What the node said: the JSON-RPC error object of one call. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

type RpcErrorOptions = AttErrorOptions & { method: string; error: RpcErrorObject };

/** The node answered a JSON-RPC error object that may clear up (e.g. "header not found" on a lagging node). */
export class RpcError extends UpstreamError {
  readonly rpcCode: number;
  readonly method: string;
  constructor(shortMessage: string, opts: RpcErrorOptions) {
    super(shortMessage, { ...opts, code: "ATT_RPC_ERROR" });
    this.rpcCode = opts.error.code;
    this.method = opts.method;
  }
}

/** The node does not implement a method (-32601 or an equivalent message): use a fallback, do not retry. */
export class RpcMethodUnsupportedError extends PermanentUpstreamError {
  readonly rpcCode: number;
  readonly method: string;
  constructor(shortMessage: string, opts: RpcErrorOptions) {
    super(shortMessage, { ...opts, code: "ATT_RPC_METHOD_UNSUPPORTED" });
    this.rpcCode = opts.error.code;
    this.method = opts.method;
  }
}

/** The call executed and reverted: an answer about the contract (`data` holds the revert data), not a failure to retry. */
export class RpcRevertError extends PermanentUpstreamError {
  readonly rpcCode: number;
  readonly method: string;
  readonly data: unknown;
  constructor(shortMessage: string, opts: RpcErrorOptions) {
    super(shortMessage, { ...opts, code: "ATT_RPC_REVERTED" });
    this.rpcCode = opts.error.code;
    this.method = opts.method;
    this.data = opts.error.data;
  }
}

/** The JSON-RPC error code when the node itself answered with an error object, else undefined. */
export function rpcCodeOf(err: unknown): number | undefined {
  return err instanceof RpcError || err instanceof RpcMethodUnsupportedError || err instanceof RpcRevertError
    ? err.rpcCode
    : undefined;
}
