import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createEtherscanFirstTx, nextUtcMidnight } from "../src/enrich/providers/etherscan.js";
import { createEthplorerTokens } from "../src/enrich/providers/ethplorer.js";
import { createOtterscanFirstTx } from "../src/enrich/providers/otterscan.js";
import { createRpcTokens } from "../src/enrich/providers/rpc-tokens.js";
import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../src/kernel/errors.js";
import { startStandin, type Standin } from "./fixtures/api-standin/server.js";
import {
  connectAnvil,
  deployBytes32Token,
  deployErc20,
  deployNft,
  deployNotAToken,
} from "./fixtures/contracts/deploy.js";
import { useAnvil, waitForReceipt } from "./helpers/anvil.js";

const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const SENDER = "0x8032eaede5c55f744387ca53aaf0499abcd783e5";
const KEY = "etherscan-test-key-1234";

describe("Etherscan txlist provider against the stand-in", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      etherscanKeys: [KEY],
      etherscanRate: { max: 3, windowMs: 1000 },
      firstTx: (a) => (a === SENDER ? 1_438_269_988 : null),
    });
  });
  afterAll(() => api.close());
  const provider = (apiKey = KEY, base = api.url) =>
    createEtherscanFirstTx({
      url: `${base}/v2/api`,
      apiKey,
      chainId: 1,
      timeoutMs: 2000,
      rateLimitPauseMs: 1000,
    });

  it("reads the first transaction's timeStamp", async () => {
    await expect(provider().fetch(SENDER)).resolves.toBe(1_438_269_988);
  });

  it("answers null for 'No transactions found'", async () => {
    await expect(provider().fetch("0x0000000000000000000000000000000000000001")).resolves.toBeNull();
  });

  it.each([
    ["v2's 'Max calls per sec rate limit reached (3/sec)'", "per-sec"],
    ["v1's 'Max rate limit reached'", "legacy"],
  ] as const)("turns %s into a RateLimitedError that pauses the queue briefly", async (_name, text) => {
    const limitedApi = await startStandin({
      etherscanRate: { max: 1, windowMs: 60_000 },
      etherscanRateText: text,
      firstTx: () => 1,
    });
    onTestFinished(() => limitedApi.close());
    const p = provider(KEY, limitedApi.url);
    await expect(p.fetch(SENDER)).resolves.toBe(1);
    const err = (await p.fetch(SENDER).catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.retryAfterMs).toBe(1000);
    expect(limitedApi.requests.map((r) => r.outcome)).toEqual(["ok", "rate-limited"]);
  });

  it("pauses until 00:00 UTC on Etherscan's daily limit instead of retrying every second", async () => {
    const dailyApi = await startStandin({ etherscanDailyMax: 2, firstTx: () => 1 });
    onTestFinished(() => dailyApi.close());
    const p = provider(KEY, dailyApi.url);
    await p.fetch(SENDER);
    await p.fetch(SENDER);
    const before = Date.now();
    const err = (await p.fetch(SENDER).catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.message).toMatch(/daily call limit reached; lookups pause until 00:00 UTC/);
    const midnight = nextUtcMidnight(before);
    expect(before + err.retryAfterMs).toBeGreaterThan(midnight - 5000);
    expect(before + err.retryAfterMs).toBeLessThanOrEqual(midnight);
    expect(dailyApi.requests.map((r) => r.outcome)).toEqual(["ok", "ok", "daily-limited"]);
    expect(nextUtcMidnight(Date.parse("2026-12-31T23:59:59.999Z"))).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(nextUtcMidnight(Date.parse("2026-11-29T00:00:00Z"))).toBe(Date.parse("2026-11-30T00:00:00Z"));
  });

  it("fails fast on 'Invalid API Key' and never shows the key", async () => {
    const err = await provider("wrong-key-5678")
      .fetch(SENDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentUpstreamError);
    expect((err as PermanentUpstreamError).code).toBe("ATT_ETHERSCAN_INVALID_KEY");
    expect(String((err as Error).message)).not.toContain("wrong-key-5678");
  });

  it("treats an HTTP 500 as retryable", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the stand-in's rate window pass
    api.failNext("etherscan", 1);
    const err = await provider()
      .fetch(SENDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(true);
  });
});

describe("Ethplorer getTokenInfo provider against the stand-in", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      ethplorerKeys: ["freekey"],
      ethplorerRate: { max: 2, windowMs: 1000 },
      tokens: [
        { address: USDC, name: "USD Coin", symbol: "USDC", decimals: 6 },
        { address: "0x2222222222222222222222222222222222222222", name: "Odd", symbol: "", decimals: null },
      ],
    });
  });
  afterAll(() => api.close());
  const provider = (apiKey = "freekey") =>
    createEthplorerTokens({ url: api.url, apiKey, timeoutMs: 2000, rateLimitPauseMs: 1000 });

  it("reads name, symbol and the decimals string", async () => {
    await expect(provider().fetch([USDC])).resolves.toEqual([
      { address: USDC, kind: "erc20", name: "USD Coin", symbol: "USDC", decimals: 6 },
    ]);
  });

  it("answers kind not-erc20 for error 150 'Address is not a token contract'", async () => {
    const [m] = await provider().fetch([SENDER]);
    expect(m).toEqual({ address: SENDER, kind: "not-erc20", name: null, symbol: null, decimals: null });
  });

  it("answers kind unknown when Ethplorer has the token but no decimals", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const [m] = await provider().fetch(["0x2222222222222222222222222222222222222222"]);
    expect(m).toMatchObject({ kind: "unknown", decimals: null, symbol: "" });
  });

  it("turns HTTP 429 into a RateLimitedError", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const p = provider();
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => p.fetch([USDC])));
    const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(rejected.length).toBe(2);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(RateLimitedError);
  });

  it("fails fast on error 1 'Invalid API key'", async () => {
    const err = await provider("nope")
      .fetch([USDC])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentUpstreamError);
    expect((err as PermanentUpstreamError).code).toBe("ATT_ETHPLORER_INVALID_KEY");
  });
});

describe("node providers against a real anvil", () => {
  const anvil = useAnvil();

  /** A proxy in front of anvil that counts HTTP requests, to see the JSON-RPC batching. */
  async function countingProxy(target: string): Promise<{ url: string; requests: () => number }> {
    let n = 0;
    const server = createServer((req, res) => {
      n += 1;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: Buffer.concat(chunks),
        })
          .then(async (r) =>
            res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()),
          )
          .catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const addr = server.address();
    return { url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`, requests: () => n };
  }

  it("reads ERC-20, bytes32-symbol, ERC-721, non-token and EOA metadata in one JSON-RPC batch request", async () => {
    const { signer } = await connectAnvil(anvil.get().httpUrl);
    const usdc = await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 });
    const mkr = await deployBytes32Token(signer, { name: "Maker", symbol: "MKR", decimals: 18 });
    const nft = await deployNft(signer, { name: "ENS Maxis", symbol: "ENSMAXIS" });
    const notToken = await deployNotAToken(signer);
    const addresses = [
      (await usdc.getAddress()).toLowerCase(),
      (await mkr.getAddress()).toLowerCase(),
      (await nft.getAddress()).toLowerCase(),
      (await notToken.getAddress()).toLowerCase(),
      "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    ];
    const proxy = await countingProxy(anvil.get().httpUrl);
    const metas = await createRpcTokens({ url: proxy.url, timeoutMs: 20_000, rateLimitPauseMs: 1000 }).fetch(
      addresses,
    );
    expect(proxy.requests()).toBe(1);
    expect(metas).toEqual([
      { address: addresses[0], kind: "erc20", name: "USD Coin", symbol: "USDC", decimals: 6 },
      { address: addresses[1], kind: "erc20", name: "Maker", symbol: "MKR", decimals: 18 },
      { address: addresses[2], kind: "not-erc20", name: "ENS Maxis", symbol: "ENSMAXIS", decimals: null },
      { address: addresses[3], kind: "not-erc20", name: null, symbol: null, decimals: null },
      { address: addresses[4], kind: "not-erc20", name: null, symbol: null, decimals: null },
    ]);
  });

  it("finds an address's first transaction time with ots_searchTransactionsAfter", async () => {
    const a = anvil.get();
    const fresh = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc"; // anvil account 5, unused so far
    const provider = createOtterscanFirstTx({ url: a.httpUrl, timeoutMs: 20_000, rateLimitPauseMs: 1000 });
    await expect(provider.fetch(fresh)).resolves.toBeNull();
    const latest = await a.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const t1 = Number(BigInt(latest.timestamp)) + 1000;
    await a.rpc("evm_setNextBlockTimestamp", [t1]);
    const first = await a.rpc<string>("eth_sendTransaction", [{ from: fresh, to: SENDER, value: "0x1" }]);
    // Mined before the next timestamp is set: otherwise a late automine seals it at t1 + 500.
    expect(await waitForReceipt(a, first)).not.toBeNull();
    await a.rpc("evm_setNextBlockTimestamp", [t1 + 500]);
    const second = await a.rpc<string>("eth_sendTransaction", [{ from: fresh, to: SENDER, value: "0x1" }]);
    expect(await waitForReceipt(a, second)).not.toBeNull();
    await expect(provider.fetch(fresh)).resolves.toBe(t1);
  });

  it("reports a node without the Otterscan API as a permanent error", async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify([
          {
            jsonrpc: "2.0",
            id: 0,
            error: {
              code: -32601,
              message: "the method ots_searchTransactionsAfter does not exist/is not available",
            },
          },
        ]),
      ),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    const err = await createOtterscanFirstTx({ url, timeoutMs: 2000, rateLimitPauseMs: 1000 })
      .fetch(SENDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentUpstreamError);
    expect((err as PermanentUpstreamError).code).toBe("ATT_RPC_METHOD_UNSUPPORTED");
  });
});
