import type { AttError } from "../kernel/errors.js";
import { scrubSecrets } from "../kernel/logger.js";
import { rpcError, type FailureContext } from "./classify.js";
import { badAnswer, isRecord, type RpcErrorObject } from "./errors.js";
import { requestJson } from "./http.js";

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

/** A JSON-RPC transport: every call has a timeout and ends with its result or a classified error. */
export interface RpcClient {
  /** The endpoint with its secrets masked, for messages and logs. */
  readonly endpoint: string;
  call<T = unknown>(method: string, params?: readonly unknown[], opts?: CallOptions): Promise<T>;
}

export interface RpcCall {
  method: string;
  params?: readonly unknown[];
}

/** One answer of a batch: the result, or the node's error object for that call with its classified error. */
export type RpcOutcome =
  { ok: true; result: unknown } | { ok: false; code: number; message: string; error: AttError };

/** JSON-RPC over HTTP: single calls and batches (one POST for many calls). */
export interface HttpRpcClient extends RpcClient {
  /**
   * Sends `calls` as ONE batch request and returns the outcomes in call order (nodes may answer
   * a batch in any order; ids map them back). Transport failures and a whole-batch error throw;
   * a per-call error is returned for the caller to judge (a revert is an answer to some callers).
   */
  batch(calls: readonly RpcCall[], opts?: CallOptions): Promise<RpcOutcome[]>;
}

export interface RpcClientOptions {
  /** Timeout of every request (default 30 s). */
  timeoutMs?: number;
  /** Pause for a rate limit that names no Retry-After (default 1 s). */
  rateLimitPauseMs?: number;
  /** A "Fix: …" line for errors saying the node could not be reached. */
  fix?: string;
}

const SINGLE_EXPECTED = "a JSON-RPC response {id, result} or {id, error: {code: integer, message: string}}";

/** A JSON-RPC error object `{ code: integer, message: string, data? }`, or undefined for any other shape. */
export function readErrorObject(v: unknown): RpcErrorObject | undefined {
  if (
    !isRecord(v) ||
    typeof v.code !== "number" ||
    !Number.isInteger(v.code) ||
    typeof v.message !== "string"
  )
    return undefined;
  return { code: v.code, message: v.message, ...(v.data === undefined ? {} : { data: v.data }) };
}

/**
 * One JSON-RPC response object (HTTP or WebSocket) as its result, or a classified error.
 * JSON-RPC 2.0: exactly one of `result` and `error`, the error `{code: integer, message: string}`.
 * Anything else — no result and no error (which would read as "no value"), both, an error of
 * another shape, another id — is a BadAnswerError. `id` null is allowed with an error (the node
 * could not read the request's id).
 */
export function readResponse(
  method: string,
  body: unknown,
  id: number,
  ctx: FailureContext & { url: string; status?: number },
): unknown {
  const bad = () =>
    badAnswer(ctx.what, {
      url: ctx.url,
      got: body,
      expected: SINGLE_EXPECTED,
      ...(ctx.status === undefined ? {} : { status: ctx.status }),
    });
  if (!isRecord(body)) throw bad();
  const hasResult = "result" in body;
  const error = "error" in body ? readErrorObject(body.error) : undefined;
  if (hasResult === "error" in body || ("error" in body && !error)) throw bad();
  if (body.id !== id && !(error && body.id === null)) throw bad();
  if (error) throw rpcError(method, error, ctx);
  return body.result;
}

/**
 * The one JSON-RPC client over HTTP. Every request has a timeout; failures are classified once
 * (classify.ts): rate limits, unsupported methods, reverts, bad answers, an unavailable node.
 * Retrying is the caller's (kernel `withRetry`), so that each caller keeps its own budget.
 *
 * @example
 * const rpc = createRpcClient(config.chain.rpcHttpUrl, { timeoutMs: config.chain.rpcTimeoutMs });
 * const chainId = Number(await rpc.call<string>("eth_chainId"));
 */
export function createRpcClient(url: string, opts: RpcClientOptions = {}): HttpRpcClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const endpoint = scrubSecrets(url);
  let nextId = 0;
  const context = (what: string, signal?: AbortSignal) => ({
    what,
    node: true,
    rateLimitPauseMs: opts.rateLimitPauseMs ?? 1000,
    ...(opts.fix ? { fix: opts.fix } : {}),
    ...(signal ? { signal } : {}),
  });

  return {
    endpoint,
    async call<T>(method: string, params: readonly unknown[] = [], co: CallOptions = {}): Promise<T> {
      const id = nextId++;
      const ctx = context(`JSON-RPC ${method}`, co.signal);
      const { status, body } = await requestJson(url, {
        ...ctx,
        method: "POST",
        body: { jsonrpc: "2.0", id, method, params },
        timeoutMs: co.timeoutMs ?? timeoutMs,
        expected: SINGLE_EXPECTED,
      });
      return readResponse(method, body, id, { ...ctx, url, shownUrl: endpoint, status }) as T;
    },

    async batch(calls, co = {}) {
      if (calls.length === 0) return [];
      const first = nextId;
      nextId += calls.length;
      const ctx = context(`JSON-RPC ${[...new Set(calls.map((c) => c.method))].join(", ")}`, co.signal);
      const expected = `an array of ${calls.length} JSON-RPC responses, ids ${first}..${first + calls.length - 1}, each with a result or an error {code, message}`;
      const { status, body, text } = await requestJson(url, {
        ...ctx,
        method: "POST",
        body: calls.map((c, i) => ({
          jsonrpc: "2.0",
          id: first + i,
          method: c.method,
          params: c.params ?? [],
        })),
        timeoutMs: co.timeoutMs ?? timeoutMs,
        expected,
      });
      const bad = () => badAnswer(ctx.what, { url, status, got: text, expected });
      const shown = { ...ctx, shownUrl: endpoint };
      if (!Array.isArray(body)) {
        // A whole-batch error object (`{ error }` instead of the array) is judged like a call's error.
        const error = isRecord(body) ? readErrorObject(body.error) : undefined;
        if (error) throw rpcError(calls[0]!.method, error, shown);
        throw bad();
      }
      if (body.length !== calls.length) throw bad();
      const out: (RpcOutcome | undefined)[] = new Array(calls.length);
      for (const item of body as unknown[]) {
        if (!isRecord(item)) throw bad();
        const i = typeof item.id === "number" ? item.id - first : -1;
        if (!Number.isInteger(i) || i < 0 || i >= calls.length || out[i]) throw bad();
        const hasResult = "result" in item;
        const error = "error" in item ? readErrorObject(item.error) : undefined;
        if (hasResult === "error" in item || ("error" in item && !error)) throw bad();
        out[i] = error
          ? {
              ok: false,
              code: error.code,
              message: error.message,
              error: rpcError(calls[i]!.method, error, shown),
            }
          : { ok: true, result: item.result };
      }
      return out as RpcOutcome[];
    },
  };
}

/** A batch outcome's result, or its error thrown. */
export function resultOf(o: RpcOutcome): unknown {
  if (o.ok) return o.result;
  throw o.error;
}
