import { WebSocket } from "ws";
import { TimeoutError, UpstreamError } from "../kernel/errors.js";
import { scrubSecrets, type Logger } from "../kernel/logger.js";
import { backoffDelay } from "../kernel/retry.js";
import { readResponse, type CallOptions, type RpcClient } from "./client.js";
import { RPC_UNAVAILABLE } from "./errors.js";

export type WsState = "connecting" | "open" | "closed";

export interface WsConnectionOptions {
  url: string;
  /** Pause for a rate limit the node answers with an error object (default 1 s). */
  rateLimitPauseMs?: number;
  /** Timeout of every request, and of the opening handshake. */
  timeoutMs: number;
  /** Ping interval; a socket that did not answer the previous ping is terminated. */
  heartbeatMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  logger: Logger;
  /** Called each time a reconnect is scheduled (metrics). */
  onReconnect?: (attempt: number, delayMs: number) => void;
  onStateChange?: (state: WsState) => void;
}

/**
 * The WebSocket transport of the JSON-RPC client: a socket that stays connected (reconnect loop,
 * heartbeat, request timeouts), with subscriptions. Answers are read and classified as over
 * HTTP (`readResponse`); a socket that is down fails calls at once with RPC_UNAVAILABLE.
 */
export interface WsConnection extends RpcClient {
  readonly state: WsState;
  /**
   * A subscription that survives reconnects: `eth_subscribe(params)` is sent again on every
   * new socket. Returns a function that ends it.
   */
  subscribe(params: unknown[], onNotification: (result: unknown) => void): () => void;
  /** Closes the socket for good (idempotent). */
  close(): void;
}

interface Pending {
  id: number;
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

interface Sub {
  params: unknown[];
  handler: (result: unknown) => void;
  id?: string;
}

/**
 * Owns one WebSocket to the node. ethers v6's WebSocketProvider never reconnects and its
 * requests can hang forever (its `_send` has no timeout); here every request has a timeout, a dead socket is
 * found by ping/pong, and a closed socket is replaced after an exponential backoff with jitter.
 * Requests made while the socket is down fail at once (the caller falls back to HTTP).
 */
export function createWsConnection(opts: WsConnectionOptions): WsConnection {
  const endpoint = scrubSecrets(opts.url);
  const pending = new Map<number, Pending>();
  const subs = new Set<Sub>();
  const subById = new Map<string, Sub>();
  let socket: WebSocket | undefined;
  let state: WsState = "closed";
  let closed = false;
  let attempt = 0;
  let nextId = 1;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const setState = (s: WsState) => {
    if (s === state) return;
    state = s;
    opts.onStateChange?.(s);
  };

  const failPending = (why: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new UpstreamError(`JSON-RPC ${p.method}: ${why}`, { code: RPC_UNAVAILABLE }));
      pending.delete(id);
    }
  };

  const send = <T>(
    sock: WebSocket,
    method: string,
    params: readonly unknown[],
    timeoutMs: number,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(
          new TimeoutError(`JSON-RPC ${method} over WebSocket timed out after ${timeoutMs} ms`, {
            details: [`Endpoint: ${endpoint}`],
          }),
        );
      }, timeoutMs);
      pending.set(id, { id, method, resolve: resolve as (v: unknown) => void, reject, timer });
      sock.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }), (err) => {
        if (!err) return;
        clearTimeout(timer);
        pending.delete(id);
        reject(
          new UpstreamError(`JSON-RPC ${method}: WebSocket send failed`, {
            cause: err,
            code: RPC_UNAVAILABLE,
          }),
        );
      });
    });

  const onMessage = (raw: string) => {
    let msg: { id?: unknown; method?: string; params?: { subscription?: string; result?: unknown } };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      opts.logger.warn({ msg: "WebSocket message is not JSON", size: raw.length });
      return;
    }
    if (msg.method === "eth_subscription" && msg.params?.subscription) {
      subById.get(msg.params.subscription)?.handler(msg.params.result);
      return;
    }
    if (typeof msg.id !== "number") return;
    const p = pending.get(msg.id);
    if (!p) return; // answered after its timeout
    pending.delete(msg.id);
    clearTimeout(p.timer);
    try {
      p.resolve(
        readResponse(p.method, msg, p.id, {
          what: `JSON-RPC ${p.method}`,
          url: opts.url,
          shownUrl: endpoint,
          node: true,
          rateLimitPauseMs: opts.rateLimitPauseMs ?? 1000,
        }),
      );
    } catch (err) {
      p.reject(err);
    }
  };

  const subscribeOn = async (sock: WebSocket, sub: Sub) => {
    const id = await send<string>(sock, "eth_subscribe", sub.params, opts.timeoutMs);
    if (socket !== sock || !subs.has(sub)) return;
    sub.id = id;
    subById.set(id, sub);
  };

  const connect = () => {
    if (closed) return;
    setState("connecting");
    const sock = new WebSocket(opts.url, { handshakeTimeout: opts.timeoutMs });
    socket = sock;
    let awaitingPong = false;
    sock.on("open", () => {
      attempt = 0;
      setState("open");
      opts.logger.info({ msg: "WebSocket connected", endpoint });
      heartbeat = setInterval(() => {
        if (awaitingPong) {
          opts.logger.warn({ msg: "WebSocket heartbeat missed, dropping the socket", endpoint });
          sock.terminate();
          return;
        }
        awaitingPong = true;
        sock.ping();
      }, opts.heartbeatMs);
      for (const sub of subs) {
        subscribeOn(sock, sub).catch((err: unknown) => {
          opts.logger.warn({ msg: "eth_subscribe failed, reconnecting", endpoint, err: String(err) });
          sock.terminate();
        });
      }
    });
    sock.on("pong", () => {
      awaitingPong = false;
    });
    sock.on("message", (data) => onMessage(data.toString()));
    sock.on("error", (err) => {
      opts.logger.debug({ msg: "WebSocket error", endpoint, err: err.message });
    });
    sock.on("close", (code) => {
      if (socket !== sock) return;
      clearInterval(heartbeat);
      socket = undefined;
      subById.clear();
      for (const sub of subs) delete sub.id;
      failPending("WebSocket closed");
      setState("closed");
      if (closed) return;
      const delay = backoffDelay(attempt++, opts.reconnectBaseMs, opts.reconnectMaxMs);
      opts.logger.warn({ msg: "WebSocket closed, reconnecting", endpoint, code, attempt, delay_ms: delay });
      opts.onReconnect?.(attempt, delay);
      reconnectTimer = setTimeout(connect, delay);
    });
  };

  connect();

  return {
    endpoint,
    get state() {
      return state;
    },
    call<T>(method: string, params: readonly unknown[] = [], co: CallOptions = {}): Promise<T> {
      if (!socket || state !== "open") {
        return Promise.reject(
          new UpstreamError(`JSON-RPC ${method}: WebSocket is not connected`, {
            code: RPC_UNAVAILABLE,
          }),
        );
      }
      return send<T>(socket, method, params, co.timeoutMs ?? opts.timeoutMs);
    },
    subscribe(params, onNotification) {
      const sub: Sub = { params, handler: onNotification };
      subs.add(sub);
      const sock = socket;
      if (sock && state === "open") {
        subscribeOn(sock, sub).catch((err: unknown) => {
          opts.logger.warn({ msg: "eth_subscribe failed, reconnecting", endpoint, err: String(err) });
          sock.terminate();
        });
      }
      return () => {
        subs.delete(sub);
        if (sub.id && socket && state === "open") {
          subById.delete(sub.id);
          send(socket, "eth_unsubscribe", [sub.id], opts.timeoutMs).catch(() => undefined);
        }
      };
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(heartbeat);
      failPending("WebSocket closed by the client");
      const sock = socket;
      socket = undefined;
      setState("closed");
      sock?.terminate();
    },
  };
}
