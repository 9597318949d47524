import {
  NonRetryableError,
  PermanentUpstreamError,
  UpstreamError,
  type AttErrorOptions,
} from "../kernel/errors.js";

/** The node answered a JSON-RPC error object; usually transient (e.g. "header not found" on a lagging node). */
export class RpcResponseError extends UpstreamError {
  readonly rpcCode: number;
  readonly method: string;
  constructor(method: string, rpcCode: number, message: string, opts: AttErrorOptions = {}) {
    super(`JSON-RPC ${method} failed: ${message}`, { ...opts, code: "ATT_RPC_ERROR" });
    this.rpcCode = rpcCode;
    this.method = method;
  }
}

/** The node does not implement a method (-32601 or an equivalent message): use a fallback. */
export class RpcMethodUnsupportedError extends PermanentUpstreamError {
  readonly method: string;
  constructor(method: string, message: string) {
    super(`JSON-RPC method ${method} is not supported by the node: ${message}`, {
      code: "ATT_RPC_METHOD_UNSUPPORTED",
    });
    this.method = method;
  }
}

/** This process no longer holds the ingest lease (or a newer holder exists): stop producing. */
export class LeaseLostError extends NonRetryableError {
  readonly code = "ATT_INGEST_LEASE_LOST";
}

/** Kafka fenced this producer: another ingester with the same transactional.id took over. */
export class ProducerFencedError extends NonRetryableError {
  readonly code = "ATT_INGEST_FENCED";
}

/** The chain diverged below every block hash we still remember: an operator must choose a restart point. */
export class ReorgTooDeepError extends NonRetryableError {
  readonly code = "ATT_INGEST_REORG_TOO_DEEP";
}

const UNSUPPORTED = /method not found|not supported|unsupported|does not exist|not available|unknown method/i;

/** Whether a JSON-RPC error means "this node has no such method" (then a fallback is right, a retry is not). */
export function isUnsupportedMethod(rpcCode: number, message: string): boolean {
  return rpcCode === -32601 || (rpcCode === -32600 && UNSUPPORTED.test(message)) || UNSUPPORTED.test(message);
}

/** Scheme, host and port only: RPC URLs often carry an API key in the path (…/v3/<key>). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid url)";
  }
}
