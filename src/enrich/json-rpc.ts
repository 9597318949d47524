import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../kernel/errors.js";
import { requestJson } from "./http.js";

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
 */
export async function rpcBatch(
  opts: JsonRpcOptions,
  calls: RpcCall[],
  signal?: AbortSignal,
): Promise<RpcOutcome[]> {
  if (calls.length === 0) return [];
  const payload = calls.map((c, id) => ({ jsonrpc: "2.0", id, method: c.method, params: c.params }));
  const { status, body } = await requestJson(opts.url, {
    method: "POST",
    body: payload,
    timeoutMs: opts.timeoutMs,
    rateLimitPauseMs: opts.rateLimitPauseMs,
    ...(signal ? { signal } : {}),
  });
  if (!Array.isArray(body)) {
    const single = body as { error?: { code?: number; message?: string } } | undefined;
    if (single?.error) throwForRpcError(single.error.code ?? 0, single.error.message ?? "", opts);
    throw new UpstreamError(`JSON-RPC batch answered HTTP ${status} without an array`, {
      code: "ATT_RPC_BAD_ANSWER",
    });
  }
  const out: (RpcOutcome | undefined)[] = new Array(calls.length);
  for (const item of body as {
    id?: number;
    result?: unknown;
    error?: { code?: number; message?: string };
  }[]) {
    if (typeof item?.id !== "number" || item.id < 0 || item.id >= calls.length) continue;
    out[item.id] = item.error
      ? { ok: false, code: Number(item.error.code ?? 0), message: String(item.error.message ?? "") }
      : { ok: true, result: item.result };
  }
  return out.map((o, i) => {
    if (o) return o;
    throw new UpstreamError(`JSON-RPC batch answer lacks call ${i} (${calls[i]!.method})`, {
      code: "ATT_RPC_BAD_ANSWER",
    });
  });
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
