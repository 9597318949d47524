import { describe, expect, it, onTestFinished } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { createWsConnection, type WsConnection } from "../src/rpc/ws.js";
import { TimeoutError, UpstreamError } from "../src/kernel/errors.js";
import { createLogger } from "../src/kernel/logger.js";

interface Rpc {
  id: number;
  method: string;
  params: unknown[];
}

/**
 * A JSON-RPC WebSocket node that answers only what `answer` returns (undefined = never) and
 * records each connection and request.
 */
async function fakeNode(answer: (req: Rpc, connection: number) => unknown) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const sockets: WebSocket[] = [];
  const requests: (Rpc & { connection: number })[] = [];
  server.on("connection", (ws) => {
    const connection = sockets.push(ws);
    ws.on("message", (raw) => {
      const req = JSON.parse(String(raw)) as Rpc;
      requests.push({ ...req, connection });
      const result = answer(req, connection);
      if (result !== undefined) ws.send(JSON.stringify({ jsonrpc: "2.0", id: req.id, result }));
    });
  });
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, sockets, requests };
}

function connect(url: string, timeoutMs = 300, reconnectBaseMs = 50): WsConnection {
  const c = createWsConnection({
    url,
    timeoutMs,
    heartbeatMs: 60_000,
    reconnectBaseMs,
    reconnectMaxMs: 4 * reconnectBaseMs,
    logger: createLogger({ level: "silent" }),
  });
  onTestFinished(() => c.close());
  return c;
}

const until = async (cond: () => boolean, what: string, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("the owned JSON-RPC WebSocket", () => {
  it("times out a request the node never answers while the socket stays up, and serves the next one", async () => {
    const node = await fakeNode((req) => (req.method === "eth_hang" ? undefined : "0x10"));
    const c = connect(node.url);
    await until(() => c.state === "open", "open");
    const t0 = Date.now();
    const err = await c.call("eth_hang").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(
      /^JSON-RPC eth_hang over WebSocket timed out after 300 ms\n {2}Endpoint: ws:\/\/127\.0\.0\.1:\d+$/,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(c.state).toBe("open");
    expect(await c.call("eth_blockNumber")).toBe("0x10");
    expect(node.sockets).toHaveLength(1);
  });

  it("fails pending requests when the socket closes, fails new ones at once while down, and reconnects", async () => {
    const node = await fakeNode((req) => (req.method === "eth_hang" ? undefined : "0x1"));
    const c = connect(node.url, 10_000, 1000);
    await until(() => c.state === "open", "open");
    const pending = c.call("eth_hang").catch((e: unknown) => e);
    await until(() => node.requests.length === 1, "request to arrive");
    node.sockets[0]!.terminate();
    const err = await pending;
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe("ATT_RPC_UNAVAILABLE");
    expect((err as Error).message).toBe("JSON-RPC eth_hang: WebSocket closed");
    // Reconnects after at least half the 1 s base (jittered backoff): down until then.
    await until(() => c.state !== "open", "closed");
    const down = await c.call("eth_blockNumber").catch((e: unknown) => e);
    expect((down as UpstreamError).code).toBe("ATT_RPC_UNAVAILABLE");
    expect((down as Error).message).toBe("JSON-RPC eth_blockNumber: WebSocket is not connected");
    await until(() => c.state === "open", "reconnected");
    expect(await c.call("eth_blockNumber")).toBe("0x1");
    expect(node.sockets).toHaveLength(2);
  });

  it("re-subscribes on a new socket when eth_subscribe is not answered, and delivers notifications", async () => {
    // The first connection never answers eth_subscribe; the second does.
    const node = await fakeNode((req, connection) =>
      req.method === "eth_subscribe" ? (connection === 1 ? undefined : "0xsub2") : "0x1",
    );
    const c = connect(node.url);
    const heads: unknown[] = [];
    c.subscribe(["newHeads"], (h) => heads.push(h));
    await until(() => node.sockets.length === 2 && c.state === "open", "a second socket");
    await until(
      () => node.requests.some((r) => r.method === "eth_subscribe" && r.connection === 2),
      "subscribe",
    );
    await new Promise((r) => setTimeout(r, 50));
    node.sockets[1]!.send(
      JSON.stringify({
        jsonrpc: "2.0",
        method: "eth_subscription",
        params: { subscription: "0xsub2", result: { number: "0x5" } },
      }),
    );
    await until(() => heads.length === 1, "a notification");
    expect(heads).toEqual([{ number: "0x5" }]);
    expect(node.requests.filter((r) => r.method === "eth_subscribe").map((r) => r.params)).toEqual([
      ["newHeads"],
      ["newHeads"],
    ]);
  });
});
