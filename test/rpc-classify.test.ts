import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { RateLimitedError, TimeoutError, UpstreamError } from "../src/kernel/errors.js";
import { isUnsupportedMethod, retryAfterMs } from "../src/rpc/classify.js";
import { createRpcClient } from "../src/rpc/client.js";
import { BadAnswerError, RpcError, RpcMethodUnsupportedError, RpcRevertError } from "../src/rpc/errors.js";
import { freePort, useAnvil } from "./helpers/anvil.js";

/** A node stand-in: `answer` gets the parsed request and writes the response itself. */
async function standin(answer: (req: { id: number; method: string }, res: ServerResponse) => void) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => answer(JSON.parse(body) as { id: number; method: string }, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) =>
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));

const fail = (p: Promise<unknown>) =>
  p.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );

describe("the JSON-RPC error classifier, on anvil's own answers", () => {
  const anvil = useAnvil();

  it("reads -32601 'Method not found' as an unsupported method: permanent, a fallback is right", async () => {
    const err = await fail(createRpcClient(anvil.get().httpUrl).call("foo_bar"));
    expect(err).toBeInstanceOf(RpcMethodUnsupportedError);
    const e = err as RpcMethodUnsupportedError;
    expect([e.code, e.retryable, e.rpcCode, e.method]).toEqual([
      "ATT_RPC_METHOD_UNSUPPORTED",
      false,
      -32601,
      "foo_bar",
    ]);
    expect(e.message).toMatch(/^JSON-RPC method foo_bar is not supported by the node: Method not found\n/);
  });

  it("reads code 3 'execution reverted' as a revert with its data, alone and inside a batch", async () => {
    const rpc = createRpcClient(anvil.get().httpUrl);
    // PUSH1 0 PUSH1 0 REVERT: init code that reverts with empty data.
    const call = { method: "eth_call", params: [{ data: "0x60006000fd" }, "latest"] };
    const err = await fail(rpc.call(call.method, call.params));
    expect(err).toBeInstanceOf(RpcRevertError);
    expect([(err as RpcRevertError).code, (err as RpcRevertError).retryable]).toEqual([
      "ATT_RPC_REVERTED",
      false,
    ]);
    expect((err as RpcRevertError).data).toBe("0x");
    const [o] = await rpc.batch([call]);
    expect(o).toMatchObject({ ok: false, code: 3, message: "execution reverted" });
    expect(o!.ok ? undefined : o!.error).toBeInstanceOf(RpcRevertError);
  });

  it("reads any other error object ('nonce too low', -32003) as a retryable RpcError", async () => {
    const rpc = createRpcClient(anvil.get().httpUrl);
    const tx = {
      from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      to: `0x${"00".repeat(19)}01`,
      nonce: "0x0",
    };
    await rpc.call("eth_sendTransaction", [tx]);
    const err = await fail(rpc.call("eth_sendTransaction", [tx]));
    expect(err).toBeInstanceOf(RpcError);
    expect([(err as RpcError).code, (err as RpcError).retryable, (err as RpcError).rpcCode]).toEqual([
      "ATT_RPC_ERROR",
      true,
      -32003,
    ]);
  });
});

describe("the JSON-RPC error classifier, on shapes of rate limits, gateways and broken proxies", () => {
  it("reads HTTP 429 as rate limited, pausing for its Retry-After in seconds or as an HTTP date", async () => {
    let header: string | undefined = "7";
    const url = await standin((_req, res) =>
      res.writeHead(429, header ? { "retry-after": header } : {}).end("Too Many Requests"),
    );
    const rpc = createRpcClient(url, { rateLimitPauseMs: 1234 });
    const seconds = (await fail(rpc.call("eth_blockNumber"))) as RateLimitedError;
    expect(seconds).toBeInstanceOf(RateLimitedError);
    expect([seconds.code, seconds.retryable, seconds.retryAfterMs]).toEqual(["ATT_RATE_LIMITED", true, 7000]);
    header = new Date(Date.now() + 60_000).toUTCString();
    const date = (await fail(rpc.call("eth_blockNumber"))) as RateLimitedError;
    expect(date.retryAfterMs).toBeGreaterThan(55_000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(60_000);
    header = undefined;
    expect(((await fail(rpc.call("eth_blockNumber"))) as RateLimitedError).retryAfterMs).toBe(1234);
  });

  it("reads -32005 'limit exceeded' (EIP-1474, Infura) and a gateway's 429 code as rate limited", async () => {
    let error: unknown = { code: -32005, message: "daily request count exceeded, request rate limited" };
    const url = await standin((req, res) => json(res, { jsonrpc: "2.0", id: req.id, error }));
    const rpc = createRpcClient(url, { rateLimitPauseMs: 500 });
    const infura = (await fail(rpc.call("eth_call"))) as RateLimitedError;
    expect(infura).toBeInstanceOf(RateLimitedError);
    expect(infura.retryAfterMs).toBe(500);
    error = { code: -32005, message: "limit exceeded" };
    expect(await fail(rpc.call("eth_call"))).toBeInstanceOf(RateLimitedError);
    error = { code: 429, message: "Too Many Requests" };
    expect(await fail(rpc.call("eth_call"))).toBeInstanceOf(RateLimitedError);
  });

  it("reads a revert whose reason speaks of a rate limit as a revert (the contract's own rule)", async () => {
    const url = await standin((req, res) =>
      json(res, {
        jsonrpc: "2.0",
        id: req.id,
        error: { code: 3, message: "execution reverted: rate limited", data: "0x" },
      }),
    );
    expect(await fail(createRpcClient(url).call("eth_call"))).toBeInstanceOf(RpcRevertError);
  });

  it.each([
    [
      "an HTML page of a CDN",
      (res: ServerResponse) =>
        res.writeHead(403, { "content-type": "text/html" }).end("<html><body>Access denied</body></html>"),
    ],
    [
      "a response with neither result nor error",
      (res: ServerResponse, id: number) => json(res, { jsonrpc: "2.0", id }),
    ],
    [
      "a response for another id",
      (res: ServerResponse, id: number) => json(res, { jsonrpc: "2.0", id: id + 7, result: "0x1" }),
    ],
    [
      "an error whose code is a string",
      (res: ServerResponse, id: number) =>
        json(res, { jsonrpc: "2.0", id, error: { code: "-32000", message: "x" } }),
    ],
    [
      "an array where one response belongs",
      (res: ServerResponse, id: number) => json(res, [{ jsonrpc: "2.0", id, result: "0x1" }]),
    ],
  ] as const)("reads %s as a bad answer: retryable, ATT_PROVIDER_BAD_ANSWER", async (_name, send) => {
    const url = await standin((req, res) => send(res, req.id));
    const err = await fail(createRpcClient(url).call("eth_blockNumber"));
    expect(err).toBeInstanceOf(BadAnswerError);
    expect([(err as BadAnswerError).code, (err as BadAnswerError).retryable]).toEqual([
      "ATT_PROVIDER_BAD_ANSWER",
      true,
    ]);
    expect((err as Error).message).toMatch(/^JSON-RPC eth_blockNumber answered in a shape we do not know\n/);
  });

  it("reads a 502, a node that is not listening and one that never answers as unavailable or timed out", async () => {
    const gateway = await standin((_req, res) => res.writeHead(502).end("bad gateway"));
    const e502 = await fail(createRpcClient(gateway).call("eth_blockNumber"));
    expect(e502).toBeInstanceOf(UpstreamError);
    expect([(e502 as UpstreamError).code, (e502 as UpstreamError).retryable]).toEqual([
      "ATT_RPC_UNAVAILABLE",
      true,
    ]);
    expect((e502 as Error).message).toMatch(/^JSON-RPC eth_blockNumber answered HTTP 502\n/);

    const nobody = `http://127.0.0.1:${await freePort()}`;
    const down = await fail(createRpcClient(nobody, { fix: "Fix: start the node" }).call("eth_blockNumber"));
    expect((down as UpstreamError).code).toBe("ATT_RPC_UNAVAILABLE");
    expect((down as UpstreamError).details).toEqual([
      `URL: ${nobody}`,
      expect.stringMatching(/^Cause: /),
      "Fix: start the node",
    ]);

    const silent = await standin(() => undefined);
    const t0 = Date.now();
    const slow = await fail(createRpcClient(silent, { timeoutMs: 200 }).call("eth_blockNumber"));
    expect(slow).toBeInstanceOf(TimeoutError);
    expect((slow as Error).message).toMatch(/^JSON-RPC eth_blockNumber timed out after 200 ms\n/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it("throws the caller's own reason when the caller aborts, not a timeout", async () => {
    const silent = await standin(() => undefined);
    const stop = new AbortController();
    const pending = fail(
      createRpcClient(silent, { timeoutMs: 10_000 }).call("eth_blockNumber", [], { signal: stop.signal }),
    );
    const reason = new Error("shutting down");
    setTimeout(() => stop.abort(reason), 50);
    expect(await pending).toBe(reason);
  });

  it("never shows an API key that sits in the endpoint's path, whatever the failure", async () => {
    const key = "3f9a1c0b7e2d4a8b9c6d5e4f3a2b1c0d";
    const base = await standin((_req, res) => res.writeHead(503).end(`no upstream for /v3/${key}`));
    const err = await fail(createRpcClient(`${base}/v3/${key}`).call("eth_blockNumber"));
    expect((err as Error).message).not.toContain(key);
    expect((err as UpstreamError).details).toContain(`URL: ${base}/v3/***`);
  });
});

describe("what counts as an unsupported method", () => {
  it.each([
    [-32601, "Method not found", true],
    [-32000, "the method eth_getBlockReceipts does not exist/is not available", true],
    [-32600, "Unsupported method: ots_searchTransactionsAfter", true],
    [-32000, "historical state not available", false],
    [-32000, "header not found", false],
  ])("code %i %j → %s", (code, message, unsupported) => {
    expect(isUnsupportedMethod({ code, message })).toBe(unsupported);
  });

  it("reads Retry-After as seconds, an HTTP date, or nothing", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs("2", now)).toBe(2000);
    expect(retryAfterMs("Wed, 01 Jan 2025 00:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Tue, 31 Dec 2024 23:00:00 GMT", now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
