import { PermanentUpstreamError, TimeoutError, UpstreamError } from "../kernel/errors.js";

/**
 * Raw JSON-RPC over HTTP for the simulator: one request or a batch in one POST, a timeout on
 * every call. ethers' per-transaction `wait()` polling is far too slow for hundreds of
 * transactions per second; a batch of `eth_sendTransaction` is one round trip.
 */
export interface RpcClient {
  readonly url: string;
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Results in request order; a failed entry is an Error, the others succeed independently. */
  batch(requests: readonly RpcRequest[]): Promise<(unknown | RpcCallError)[]>;
}

export interface RpcRequest {
  method: string;
  params?: unknown[];
}

/** The node answered the call with a JSON-RPC error (bad nonce, revert, unknown method…). */
export class RpcCallError extends PermanentUpstreamError {
  readonly rpcCode: number;
  constructor(method: string, error: { code?: number; message?: string }) {
    super(`JSON-RPC ${method} failed: ${error.message ?? "unknown error"}`, {
      code: "ATT_SIMULATE_RPC_ERROR",
    });
    this.rpcCode = error.code ?? 0;
  }
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { code?: number; message?: string };
}

export function createRpcClient(url: string, opts: { timeoutMs?: number } = {}): RpcClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let nextId = 1;

  const post = async (body: unknown, what: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        throw new TimeoutError(`JSON-RPC ${what} timed out after ${timeoutMs} ms`, {
          details: [`URL: ${url}`],
        });
      }
      throw new UpstreamError(`JSON-RPC ${what} could not reach the node`, {
        cause: err,
        details: [
          `URL: ${url}`,
          "Fix: start the node (deploy/local/stack.sh start anvil), or point --rpc (ATT_RPC_HTTP_URL) at one that runs",
        ],
        code: "ATT_SIMULATE_NODE_UNREACHABLE",
      });
    }
    if (!res.ok) {
      throw new UpstreamError(`JSON-RPC ${what} answered HTTP ${res.status}`, { details: [`URL: ${url}`] });
    }
    return res.json();
  };

  return {
    url,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      const reply = (await post({ jsonrpc: "2.0", id: nextId++, method, params }, method)) as Reply;
      if (reply.error) throw new RpcCallError(method, reply.error);
      return reply.result as T;
    },
    async batch(requests) {
      if (requests.length === 0) return [];
      const first = nextId;
      nextId += requests.length;
      const body = requests.map((r, i) => ({
        jsonrpc: "2.0",
        id: first + i,
        method: r.method,
        params: r.params ?? [],
      }));
      const replies = (await post(body, `batch of ${requests.length} ${requests[0]!.method}`)) as Reply[];
      if (!Array.isArray(replies)) throw new UpstreamError("JSON-RPC batch answered with a non-array");
      const out: (unknown | RpcCallError)[] = new Array(requests.length);
      for (const r of replies) {
        const i = r.id - first;
        if (i < 0 || i >= requests.length) continue;
        out[i] = r.error ? new RpcCallError(requests[i]!.method, r.error) : r.result;
      }
      return out;
    },
  };
}

export const toHex = (n: number | bigint): string => `0x${n.toString(16)}`;
