import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import {
  ingestOptions,
  ingestTopics,
  metricValue,
  readAllCommitted,
  startIngester,
  startTcpProxy,
  waitFor,
  waitForCheckpoint,
} from "./ingest-harness.js";

interface RpcCall {
  id: number;
  method: string;
  params: unknown[];
}

/**
 * A JSON-RPC HTTP proxy in front of anvil that can misbehave per request: answer with an
 * error, hang, or forward. `calls` records every method asked for.
 */
async function faultyNode(targetUrl: string) {
  const calls: RpcCall[] = [];
  let rule: (c: RpcCall) => "forward" | "unsupported" | "error500" | "hang" = () => "forward";
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const call = JSON.parse(body) as RpcCall;
      calls.push(call);
      const what = rule(call);
      if (what === "hang") return; // never answers: the client's timeout must fire
      if (what === "error500") return void res.writeHead(502).end("bad gateway");
      if (what === "unsupported") {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({
            jsonrpc: "2.0",
            id: call.id,
            error: { code: -32601, message: "the method does not exist" },
          }),
        );
      }
      void fetch(targetUrl, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (r) => {
          res.writeHead(r.status, { "content-type": "application/json" });
          res.end(await r.text());
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    setRule: (r: typeof rule) => void (rule = r),
  };
}

describe("att ingest against a node that fails", () => {
  const anvil = useAnvil();

  async function token() {
    const { signer } = await connectAnvil(anvil.get().httpUrl);
    const me = await signer.getAddress();
    const t: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
    await (await t.mint(me, 10n ** 24n)).wait();
    return { signer, token: t };
  }

  it("falls back to per-transaction receipts when the node lacks eth_getBlockReceipts", async () => {
    const { signer, token: tkn } = await token();
    const node = await faultyNode(anvil.get().httpUrl);
    node.setRule((c) => (c.method === "eth_getBlockReceipts" ? "unsupported" : "forward"));
    const t = await ingestTopics();
    const first = (await signer.provider.getBlockNumber()) + 1;
    const running = startIngester({
      ...ingestOptions(anvil.get(), t, { fromBlock: first }),
      rpcHttpUrl: node.url,
    });
    const r = await (await tkn.transfer(`0x${"0".repeat(38)}cd`, 42n)).wait();
    await waitForCheckpoint(t, r.blockNumber);

    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => [m.tx.txHash, m.tx.transfers[0]!.value])).toEqual([[r.hash, "42"]]);
    expect(node.calls.some((c) => c.method === "eth_getTransactionReceipt" && c.params[0] === r.hash)).toBe(
      true,
    );
    expect(
      running.logs.some(
        (l) => l.msg === "Node lacks eth_getBlockReceipts, fetching receipts per transaction",
      ),
    ).toBe(true);
  });

  it("never skips a block the node cannot serve: progress stops, the failure is counted, then it is published", async () => {
    const { signer, token: tkn } = await token();
    const node = await faultyNode(anvil.get().httpUrl);
    const t = await ingestTopics();
    const first = (await signer.provider.getBlockNumber()) + 1;
    const running = startIngester({
      ...ingestOptions(anvil.get(), t, { fromBlock: first, rpcTimeoutMs: 300, rpcRetries: 1 }),
      rpcHttpUrl: node.url,
    });
    const before = await (await tkn.transfer(`0x${"0".repeat(38)}01`, 1n)).wait();
    await waitForCheckpoint(t, before.blockNumber);

    // The next block's body hangs (timeout) and its receipts fail with 502, until we relent.
    const bad = `0x${(before.blockNumber + 1).toString(16)}`;
    node.setRule((c) =>
      c.params[0] === bad ? (c.method === "eth_getBlockByNumber" ? "hang" : "error500") : "forward",
    );
    const stuck = await (await tkn.transfer(`0x${"0".repeat(38)}02`, 2n)).wait();
    const after = await (await tkn.transfer(`0x${"0".repeat(38)}03`, 3n)).wait();
    await waitFor(
      async () =>
        (await metricValue(running.registry, "att_ingest_block_failures_total", { stage: "fetch" })) >= 2,
      "two failed attempts at the block",
    );
    expect(running.ingester.status().published?.number).toBe(before.blockNumber);
    expect(
      await metricValue(running.registry, "att_ingest_rpc_errors_total", {
        method: "eth_getBlockByNumber",
        code: "ATT_TIMEOUT",
      }),
    ).toBeGreaterThan(0);

    node.setRule(() => "forward");
    await waitForCheckpoint(t, after.blockNumber);
    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => m.tx.txHash)).toEqual([before.hash, stuck.hash, after.hash]);
  });

  it(
    "finds a silently dead WebSocket by its heartbeat, polls meanwhile, and reconnects",
    { timeout: 120_000 },
    async () => {
      const { signer, token: tkn } = await token();
      const proxy = await startTcpProxy(anvil.get().port);
      const t = await ingestTopics();
      const first = (await signer.provider.getBlockNumber()) + 1;
      const running = startIngester({
        ...ingestOptions(anvil.get(), t, { fromBlock: first, headRecheckMs: 60_000 }),
        rpcWsUrl: `ws://127.0.0.1:${proxy.port}`,
      });
      await waitFor(() => running.ingester.status().wsState === "open", "the socket to open");
      proxy.freeze(); // the TCP connection stays up, nothing answers: only a heartbeat can tell
      await waitFor(
        () => running.logs.some((l) => l.msg === "WebSocket heartbeat missed, dropping the socket"),
        "the heartbeat to notice",
      );
      const during = await (await tkn.transfer(`0x${"0".repeat(38)}04`, 4n)).wait();
      await waitForCheckpoint(t, during.blockNumber);
      await waitFor(() => running.ingester.status().wsState === "open", "the socket to be reopened");
      expect(await metricValue(running.registry, "att_ingest_ws_reconnects_total")).toBeGreaterThanOrEqual(1);
      const got = await readAllCommitted(t.transfers);
      expect(got.map((m) => m.tx.txHash)).toEqual([during.hash]);
    },
  );
});
