import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../kernel/errors.js";
import { badAnswer, isRecord, requestJson } from "./http.js";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** One answer of a batch: the result, or the node's error object for that call. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; code: number; message: string };

export interface JsonRpcOptions {
  url: string;
  timeoutMs: number;
  rateLimitPauseMs: number;
}

/**
 * Sends calls as ONE JSON-RPC batch request and returns the outcomes in call order (nodes may
 * answer a batch in any order; ids map them back). Transport failures throw retryable errors;
 * a per-call error is returned for the caller to judge (a revert is an answer, a rate limit is not).
 *
 * The answer is checked against JSON-RPC 2.0: an array with exactly one response per call, each
 * with its own id and either a `result` or an `error: { code: integer, message: string }`. Anything
 * else — an object where the array belongs, a response without result and error (which would read
 * as "no value"), an unknown or repeated id, a missing call — is a BadAnswerError
 * (ATT_PROVIDER_BAD_ANSWER, retryable). A whole-batch error object (`{ error }` instead of the
 * array) is judged like a per-call error. Results are the caller's to check.
 */
export async function rpcBatch(
  opts: JsonRpcOptions,
  calls: RpcCall[],
  signal?: AbortSignal,
): Promise<RpcOutcome[]> {
  if (calls.length === 0) return [];
  const payload = calls.map((c, id) => ({ jsonrpc: "2.0", id, method: c.method, params: c.params }));
  const what = `JSON-RPC ${[...new Set(calls.map((c) => c.method))].join(", ")}`;
  const expected = `an array of ${calls.length} JSON-RPC responses, ids 0..${calls.length - 1}, each with a result or an error {code, message}`;
  const { status, body, text } = await requestJson(opts.url, {
    method: "POST",
    body: payload,
    timeoutMs: opts.timeoutMs,
    rateLimitPauseMs: opts.rateLimitPauseMs,
    what,
    expected,
    ...(signal ? { signal } : {}),
  });
  const bad = () => badAnswer(what, { url: opts.url, status, got: text, expected });
  if (!Array.isArray(body)) {
    const error = isRecord(body) ? rpcError(body.error) : undefined;
    if (error) throwForRpcError(error.code, error.message, opts);
    throw bad();
  }
  if (body.length !== calls.length) throw bad();
  const out: (RpcOutcome | undefined)[] = new Array(calls.length);
  for (const item of body as unknown[]) {
    if (!isRecord(item)) throw bad();
    const id = item.id;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= calls.length || out[id]) {
      throw bad();
    }
    const hasResult = "result" in item;
    const error = "error" in item ? rpcError(item.error) : undefined;
    if (hasResult === "error" in item || ("error" in item && !error)) throw bad();
    out[id] = error ? { ok: false, ...error } : { ok: true, result: item.result };
  }
  return out as RpcOutcome[];
}

/** A JSON-RPC error object `{ code: integer, message: string }`, or undefined for any other shape. */
function rpcError(v: unknown): { code: number; message: string } | undefined {
  if (
    !isRecord(v) ||
    typeof v.code !== "number" ||
    !Number.isInteger(v.code) ||
    typeof v.message !== "string"
  )
    return undefined;
  return { code: v.code, message: v.message };
}

/** One call; node errors become thrown errors (rate limits retryable, unknown methods permanent). */
export async function rpcCall(opts: JsonRpcOptions, call: RpcCall, signal?: AbortSignal): Promise<unknown> {
  const [o] = await rpcBatch(opts, [call], signal);
  if (o!.ok) return o!.result;
  return throwForRpcError(o!.code, o!.message, opts);
}

/** A node error that is not about the call's own outcome (not a revert): decide retry vs fail. */
export function throwForRpcError(code: number, message: string, opts: { rateLimitPauseMs: number }): never {
  const details = [`JSON-RPC error ${code}: ${message.slice(0, 200)}`];
  if (code === -32005 || /rate limit|too many requests/i.test(message)) {
    throw new RateLimitedError("Node rate limit reached", { retryAfterMs: opts.rateLimitPauseMs, details });
  }
  if (code === -32601) {
    throw new PermanentUpstreamError("The node does not serve this method", {
      code: "ATT_RPC_METHOD_UNSUPPORTED",
      details,
    });
  }
  throw new UpstreamError("JSON-RPC call failed", { code: "ATT_RPC_ERROR", details });
}

/** Whether a per-call error means "the contract reverted" (an answer about the contract). */
export function isRevert(o: { code: number; message: string }): boolean {
  return o.code === 3 || /revert|invalid opcode|out of gas/i.test(o.message);
}

/** A JSON-RPC quantity ("0x1a"; leading zeros tolerated) as a safe integer, or null for any other value. */
export function parseQuantity(v: unknown): number | null {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(v)) return null;
  const n = Number(BigInt(v));
  return Number.isSafeInteger(n) ? n : null;
}
