import { RateLimitedError, TimeoutError, UpstreamError } from "../kernel/errors.js";
import { isUnsupportedMethod, redactUrl, RpcMethodUnsupportedError, RpcResponseError } from "./errors.js";

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's default timeout for this request. */
  timeoutMs?: number;
}

/** A JSON-RPC client: every request has a timeout and ends with a result or a typed error. */
export interface RpcClient {
  request<T>(method: string, params?: unknown[], opts?: RequestOptions): Promise<T>;
}

export interface JsonRpcResponse {
  jsonrpc?: string;
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Turns a JSON-RPC response object into its result or a typed error. */
export function unwrapResponse<T>(method: string, body: JsonRpcResponse): T {
  if (body.error) {
    const { code, message } = body.error;
    if (isUnsupportedMethod(code, message)) throw new RpcMethodUnsupportedError(method, message);
    if (code === 429 || /rate limit|too many requests/i.test(message)) {
      throw new RateLimitedError(`JSON-RPC ${method} was rate limited: ${message}`);
    }
    throw new RpcResponseError(method, code, message);
  }
  if (!("result" in body)) {
    throw new UpstreamError(`JSON-RPC ${method}: response has neither result nor error`, {
      code: "ATT_RPC_BAD_RESPONSE",
    });
  }
  return body.result as T;
}

/**
 * JSON-RPC over HTTP with `fetch`. Each request gets its own timeout (AbortSignal.timeout)
 * combined with the caller's signal.
 */
export function createHttpRpc(opts: { url: string; timeoutMs: number }): RpcClient {
  const endpoint = redactUrl(opts.url);
  let nextId = 1;
  return {
    async request<T>(method: string, params: unknown[] = [], ro: RequestOptions = {}): Promise<T> {
      const timeoutMs = ro.timeoutMs ?? opts.timeoutMs;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = ro.signal ? AbortSignal.any([ro.signal, timeout]) : timeout;
      let res: Response;
      let text: string;
      try {
        res = await fetch(opts.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
          signal,
        });
        text = await res.text();
      } catch (err) {
        if (ro.signal?.aborted) throw ro.signal.reason ?? err;
        if (timeout.aborted) {
          throw new TimeoutError(`JSON-RPC ${method} timed out after ${timeoutMs} ms`, {
            details: [`Endpoint: ${endpoint}`],
          });
        }
        throw new UpstreamError(`JSON-RPC ${method}: node unreachable`, {
          code: "ATT_RPC_UNAVAILABLE",
          details: [`Endpoint: ${endpoint}`],
          cause: err,
        });
      }
      if (res.status === 429) {
        const after = Number(res.headers.get("retry-after"));
        throw new RateLimitedError(`JSON-RPC ${method} was rate limited (HTTP 429)`, {
          retryAfterMs: Number.isFinite(after) && after > 0 ? after * 1000 : 1000,
        });
      }
      let body: JsonRpcResponse;
      try {
        body = JSON.parse(text) as JsonRpcResponse;
      } catch {
        throw new UpstreamError(`JSON-RPC ${method}: HTTP ${res.status} with a non-JSON body`, {
          code: "ATT_RPC_BAD_RESPONSE",
          details: [`Endpoint: ${endpoint}`, `Body: ${text.slice(0, 120)}`],
        });
      }
      return unwrapResponse<T>(method, body);
    },
  };
}
