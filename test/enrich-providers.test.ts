import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createEtherscanFirstTx, nextUtcMidnight } from "../src/enrich/providers/etherscan.js";
import { createEthplorerTokens } from "../src/enrich/providers/ethplorer.js";
import { createOtterscanFirstTx } from "../src/enrich/providers/otterscan.js";
import { createRpcTokens } from "../src/enrich/providers/rpc-tokens.js";
import { createEnricher } from "../src/enrich/enricher.js";
import { BadAnswerError } from "../src/rpc/errors.js";
import { cacheKey } from "../src/enrich/keys.js";
import { isEnrichmentFailure } from "../src/enrich/types.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { PermanentUpstreamError, RateLimitedError, UpstreamError } from "../src/kernel/errors.js";
import {
  BAD_ANSWERS,
  startRpcStandin,
  startStandin,
  type InjectedAnswer,
  type RpcRequestCall,
  type Standin,
} from "./fixtures/api-standin/server.js";
import {
  connectAnvil,
  deployBytes32Token,
  deployErc20,
  deployNft,
  deployNotAToken,
} from "./fixtures/contracts/deploy.js";
import { useAnvil, waitForReceipt } from "./helpers/anvil.js";
import { metricValue } from "./helpers/metrics.js";
import { testPrefix, testRedis } from "./helpers/redis.js";
import { REDIS_URL } from "./helpers/services.js";
import { txWithTokens } from "./helpers/transfers.js";

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

/** What every bad answer must be: retryable, one code, saying what came and what was expected, no key. */
function expectBadAnswer(err: unknown, secret?: string): void {
  expect(err).toBeInstanceOf(BadAnswerError);
  const e = err as BadAnswerError;
  expect(e.code).toBe("ATT_PROVIDER_BAD_ANSWER");
  expect(e.retryable).toBe(true);
  expect(e.message).toMatch(/answered in a shape we do not know/);
  expect(e.message).toMatch(/\n {2}Got: /);
  expect(e.message).toMatch(/\n {2}Expected: /);
  if (secret) expect(e.message).not.toContain(secret);
}

describe("answers in a shape Etherscan does not send (issue 13)", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({ etherscanKeys: [KEY], firstTx: (a) => (a === SENDER ? 1_438_269_988 : null) });
  });
  afterAll(() => api.close());
  const provider = () =>
    createEtherscanFirstTx({
      url: `${api.url}/v2/api`,
      apiKey: KEY,
      chainId: 1,
      timeoutMs: 2000,
      rateLimitPauseMs: 1000,
    });

  it.each(Object.entries(BAD_ANSWERS.etherscan))(
    "reads %s as a bad answer, never as 'no transaction', and the next answer is read again",
    async (_name, answer) => {
      for (const address of [SENDER, "0x0000000000000000000000000000000000000001"]) {
        api.injectNext("etherscan", [answer], address);
        expectBadAnswer(
          await provider()
            .fetch(address)
            .catch((e: unknown) => e),
          KEY,
        );
      }
      await expect(provider().fetch(SENDER)).resolves.toBe(1_438_269_988);
      await expect(provider().fetch("0x0000000000000000000000000000000000000001")).resolves.toBeNull();
    },
  );

  it("says what it received, truncated and without the API key the HTML page echoed", async () => {
    api.injectNext("etherscan", [{ html: true }]);
    const err = (await provider()
      .fetch(SENDER)
      .catch((e: unknown) => e)) as BadAnswerError;
    expectBadAnswer(err, KEY);
    const got = err.details.find((d) => d.startsWith("Got: "))!;
    expect(got).toMatch(/^Got: HTTP 200, <html><p>GET \/v2\/api\?/);
    expect(got).toMatch(/…$/);
    expect(got).toContain("apikey=***");
    expect(got.length).toBeLessThan(240);
    expect(err.details).toContain(
      `URL: ${api.url}/v2/api?chainid=1&module=account&action=txlist&address=${SENDER}&page=1&offset=1&sort=asc&apikey=***`,
    );
    expect(err.details.find((d) => d.startsWith("Expected: "))).toMatch(/No transactions found/);
  });
});

describe("answers in a shape Ethplorer does not send (issue 13)", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      ethplorerKeys: ["secret-ethplorer-key"],
      tokens: [{ address: USDC, name: "USD Coin", symbol: "USDC", decimals: 6 }],
    });
  });
  afterAll(() => api.close());
  const provider = () =>
    createEthplorerTokens({
      url: api.url,
      apiKey: "secret-ethplorer-key",
      timeoutMs: 2000,
      rateLimitPauseMs: 1000,
    });

  it.each(Object.entries(BAD_ANSWERS.ethplorer))(
    "reads %s as a bad answer, never as 'not a token', and the next answer is read again",
    async (_name, answer) => {
      for (const address of [USDC, SENDER]) {
        api.injectNext("ethplorer", [answer], address);
        expectBadAnswer(
          await provider()
            .fetch([address])
            .catch((e: unknown) => e),
          "secret-ethplorer-key",
        );
      }
      await expect(provider().fetch([USDC, SENDER])).resolves.toEqual([
        { address: USDC, kind: "erc20", name: "USD Coin", symbol: "USDC", decimals: 6 },
        { address: SENDER, kind: "not-erc20", name: null, symbol: null, decimals: null },
      ]);
    },
  );
});

describe("answers in a shape the node does not send (issue 13)", () => {
  const anvil = useAnvil();
  const ok = (calls: RpcRequestCall[], result: (c: RpcRequestCall) => unknown) =>
    calls.map((c) => ({ jsonrpc: "2.0", id: c.id, result: result(c) }));
  /** A whole ots_searchTransactionsAfter answer whose result is `result`. */
  const search = (result: unknown): InjectedAnswer => ({
    json: (calls: RpcRequestCall[]) => ok(calls, () => result),
  });
  const PAGE = { firstPage: true, lastPage: true };
  const TX = { hash: `0x${"ab".repeat(32)}`, blockNumber: "0x1" };

  /** A fresh anvil account with one transaction mined at a known time. */
  async function senderWithFirstTx(account: string): Promise<number> {
    const a = anvil.get();
    const latest = await a.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const t = Number(BigInt(latest.timestamp)) + 100;
    await a.rpc("evm_setNextBlockTimestamp", [t]);
    const h = await a.rpc<string>("eth_sendTransaction", [{ from: account, to: SENDER, value: "0x1" }]);
    expect(await waitForReceipt(a, h)).not.toBeNull();
    return t;
  }

  const searchShapes: [string, InjectedAnswer][] = [
    ["the issue's {result: {weird: […]}}", search({ weird: [TX] })],
    ["txs [] without receipts", search({ txs: [], firstPage: true, lastPage: true })],
    ["txs not an array", search({ txs: {}, receipts: [], ...PAGE })],
    ["a null result", search(null)],
    ["a string result", search("0x")],
    [
      "a tx without its block number",
      search({ txs: [{ hash: TX.hash }], receipts: [{ timestamp: "0x5" }], ...PAGE }),
    ],
    [
      "a timestamp that is not a quantity",
      search({ txs: [TX], receipts: [{ timestamp: "yesterday" }], ...PAGE }),
    ],
    ["fewer receipts than txs", search({ txs: [TX], receipts: [], ...PAGE })],
    ["no firstPage/lastPage", search({ txs: [], receipts: [] })],
    [
      "a response with neither result nor error",
      { json: (calls: RpcRequestCall[]) => calls.map((c) => ({ jsonrpc: "2.0", id: c.id })) },
    ],
    [
      "an object where the batch array belongs",
      { json: { jsonrpc: "2.0", id: 0, result: { txs: [], receipts: [], ...PAGE } } },
    ],
    [
      "an answer for another id",
      { json: [{ jsonrpc: "2.0", id: 7, result: { txs: [], receipts: [], ...PAGE } }] },
    ],
    [
      "an error whose code is a string",
      { json: [{ jsonrpc: "2.0", id: 0, error: { code: "-32000", message: "x" } }] },
    ],
    ["an HTML error page", { html: true, status: 200 }],
    ["a plain-text body", { text: "upstream connect error or disconnect/reset before headers" }],
    ["an empty body", { text: "" }],
  ];

  it.each(searchShapes)(
    "otterscan reads %s as a bad answer, never as 'no transaction', and reads the next answer",
    async (_name, answer) => {
      const rpc = await startRpcStandin(anvil.get().httpUrl);
      onTestFinished(() => rpc.close());
      const provider = createOtterscanFirstTx({ url: rpc.url, timeoutMs: 20_000, rateLimitPauseMs: 1000 });
      const fresh = "0x14dc79964da2c08b23698b3d3cc7ca32193d9955"; // anvil account 7
      rpc.injectNext("ots_searchTransactionsAfter", answer);
      expectBadAnswer(await provider.fetch(fresh).catch((e: unknown) => e));
      await expect(provider.fetch(fresh)).resolves.toBeNull(); // the genuine "no transaction"
      expect(rpc.requests.map((r) => r.injected)).toEqual([true, false]);
    },
  );

  it.each([
    ["an empty object", {}],
    ["a timestamp that is a JSON number", { number: "0x1", timestamp: 1_700_000_000 }],
    ["another block", { number: "0x2", timestamp: "0x5" }],
    ["a string", "0x1"],
  ])(
    "otterscan reads a block answer that is %s as a bad answer and reads the next answer",
    async (_name, block) => {
      const account = "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f"; // anvil account 8
      const t = await senderWithFirstTx(account);
      const rpc = await startRpcStandin(anvil.get().httpUrl);
      onTestFinished(() => rpc.close());
      const provider = createOtterscanFirstTx({ url: rpc.url, timeoutMs: 20_000, rateLimitPauseMs: 1000 });
      // A node whose receipts carry no timestamp: the provider asks for the block.
      const noStamp = search({ txs: [{ ...TX, blockNumber: "0x1" }], receipts: [{}], ...PAGE });
      rpc.injectNext("ots_searchTransactionsAfter", noStamp, noStamp);
      rpc.injectNext("eth_getBlockByNumber", { json: (calls: RpcRequestCall[]) => ok(calls, () => block) });
      expectBadAnswer(await provider.fetch(account).catch((e: unknown) => e));
      const block1 = await anvil.get().rpc<{ timestamp: string }>("eth_getBlockByNumber", ["0x1", false]);
      await expect(provider.fetch(account)).resolves.toBe(Number(BigInt(block1.timestamp)));
      await expect(provider.fetch(account)).resolves.toBe(t); // anvil's own answer
      expect(rpc.requests.map((r) => [r.methods[0], r.injected])).toEqual([
        ["ots_searchTransactionsAfter", true],
        ["eth_getBlockByNumber", true],
        ["ots_searchTransactionsAfter", true],
        ["eth_getBlockByNumber", false],
        ["ots_searchTransactionsAfter", false],
      ]);
    },
  );

  const decimalsOf = (c: RpcRequestCall) => (c.params[0] as { data: string }).data === "0x313ce567";
  const callShapes: [string, InjectedAnswer][] = [
    [
      "a number as decimals()",
      { json: (calls: RpcRequestCall[]) => ok(calls, (c) => (decimalsOf(c) ? 6 : "0x")) },
    ],
    [
      "null as decimals()",
      { json: (calls: RpcRequestCall[]) => ok(calls, (c) => (decimalsOf(c) ? null : "0x")) },
    ],
    ["a string that is not hex", { json: (calls: RpcRequestCall[]) => ok(calls, () => "six") }],
    ["hex with an odd number of digits", { json: (calls: RpcRequestCall[]) => ok(calls, () => "0x6") }],
    [
      "a batch with neither result nor error",
      { json: (calls: RpcRequestCall[]) => calls.map((c) => ({ jsonrpc: "2.0", id: c.id })) },
    ],
    ["a batch missing a call", { json: (calls: RpcRequestCall[]) => ok(calls.slice(1), () => "0x") }],
    [
      "a batch with a repeated id",
      {
        json: (calls: RpcRequestCall[]) =>
          ok(
            calls.map((c) => ({ ...c, id: 0 })),
            () => "0x",
          ),
      },
    ],
    ["an object where the batch array belongs", { json: { jsonrpc: "2.0", id: 0, result: "0x" } }],
    ["an HTML error page", { html: true }],
    ["a plain-text body", { text: "Bad Gateway" }],
  ];

  it.each(callShapes)(
    "rpc token metadata reads %s as a bad answer, never as 'not a token', and reads the next answer",
    async (_name, answer) => {
      const { signer } = await connectAnvil(anvil.get().httpUrl);
      const usdc = (
        await (await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 })).getAddress()
      ).toLowerCase();
      const rpc = await startRpcStandin(anvil.get().httpUrl);
      onTestFinished(() => rpc.close());
      const provider = createRpcTokens({ url: rpc.url, timeoutMs: 20_000, rateLimitPauseMs: 1000 });
      const eoa = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
      rpc.injectNext("eth_call", answer);
      expectBadAnswer(await provider.fetch([usdc, eoa]).catch((e: unknown) => e));
      await expect(provider.fetch([usdc, eoa])).resolves.toEqual([
        { address: usdc, kind: "erc20", name: "USD Coin", symbol: "USDC", decimals: 6 },
        { address: eoa, kind: "not-erc20", name: null, symbol: null, decimals: null },
      ]);
    },
  );
});

describe("bad answers through the enrichment queue (real Redis, BullMQ retries, API stand-in)", () => {
  const sender = (i: number) => `0x${(0x5e0000 + i).toString(16).padStart(40, "0")}`;
  const token = (i: number) => `0x${(0x70c000 + i).toString(16).padStart(40, "0")}`;
  const FIRST = (a: string) => 1_500_000_000 + Number.parseInt(a.slice(-4), 16);
  const NOBODY = "0x00000000000000000000000000000000000000ff";
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      etherscanKeys: [KEY],
      firstTx: (a) => (a === NOBODY ? null : FIRST(a)),
      tokens: Array.from({ length: 20 }, (_, i) => ({
        address: token(i),
        name: `Token ${i}`,
        symbol: `T${i}`,
        decimals: 6,
      })),
    });
  });
  afterAll(() => api.close());

  function enricher(prefix: string, registry: Registry, attempts: number) {
    const config = loadConfig({
      ATT_REDIS_URL: REDIS_URL,
      ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
      ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
      ATT_ETHPLORER_URL: api.url,
      ATT_ETHERSCAN_URL: `${api.url}/v2/api`,
      ATT_ETHERSCAN_API_KEY: KEY,
      ATT_ENRICH_TOKEN_RATE_MAX: "1000",
      ATT_ENRICH_FIRST_TX_RATE_MAX: "1000",
      ATT_ENRICH_ATTEMPTS: String(attempts),
      ATT_ENRICH_BACKOFF_MS: "20",
      ATT_ENRICH_POLL_MS: "200",
    });
    const e = createEnricher({
      redis: testRedis(),
      queuePrefix: prefix,
      config,
      logger: createLogger({ level: "silent" }),
      registry,
      workers: true,
    });
    onTestFinished(() => e.close());
    return e;
  }
  const outcomes = (address: string) =>
    api.requests.filter((r) => r.address === address).map((r) => r.outcome);

  it("retries every wrong shape with backoff, counts it, and caches only the correct answer that follows", async () => {
    const prefix = testPrefix("badans");
    const registry = new Registry();
    const es = Object.values(BAD_ANSWERS.etherscan);
    const ep = Object.values(BAD_ANSWERS.ethplorer);
    const n = Math.max(es.length, ep.length);
    es.forEach((a, i) => api.injectNext("etherscan", [a], sender(i)));
    ep.forEach((a, i) => api.injectNext("ethplorer", [a], token(i)));
    const txs = [
      ...Array.from({ length: n }, (_, i) => txWithTokens(sender(i), [token(i)])),
      txWithTokens(NOBODY, [SENDER]), // a sender without transactions, an address that is no token
    ];
    const r = await enricher(prefix, registry, 2).resolveBatch(txs, { deadlineMs: 20_000 });

    const redis = testRedis();
    for (let i = 0; i < n; i++) {
      expect(r.firstTx.get(sender(i))).toBe(FIRST(sender(i)));
      expect(r.tokens.get(token(i))).toMatchObject({ kind: "erc20", symbol: `T${i}`, decimals: 6 });
      expect(await redis.get(cacheKey(prefix, "firsttx", 1, sender(i)))).toBe(String(FIRST(sender(i))));
    }
    es.forEach((_, i) => expect(outcomes(sender(i))).toEqual(["injected-answer", "ok"]));
    ep.forEach((_, i) => expect(outcomes(token(i))).toEqual(["injected-answer", "ok"]));
    // The genuine "not found" answers are still answers.
    expect(r.firstTx.get(NOBODY)).toBeNull();
    expect(r.tokens.get(SENDER)).toMatchObject({ kind: "not-erc20" });
    expect(await redis.get(cacheKey(prefix, "firsttx", 1, NOBODY))).toBe("none");
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "etherscan" })).toBe(
      es.length,
    );
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "ethplorer" })).toBe(
      ep.length,
    );
  });

  it("fails the lookup with ATT_PROVIDER_BAD_ANSWER once the attempts are spent, caches nothing, and a later batch gets the value", async () => {
    const prefix = testPrefix("badans");
    const registry = new Registry();
    const s = sender(100);
    const t = token(19);
    // The case: txlist answering {"result":{"weird":[…]}} was read as "no transaction".
    api.injectNext("etherscan", [BAD_ANSWERS.etherscan["result an object"]!, { html: true }], s);
    api.injectNext("ethplorer", [BAD_ANSWERS.ethplorer["an unknown structure"]!, { text: "" }], t);
    const e = enricher(prefix, registry, 2);
    const r = await e.resolveBatch([txWithTokens(s, [t])], { deadlineMs: 20_000 });

    const first = r.firstTx.get(s);
    if (!isEnrichmentFailure(first)) throw new Error(`expected a failure, got ${String(first)}`);
    expect(first.code).toBe("ATT_PROVIDER_BAD_ANSWER");
    // The last answer (the HTML page) is named, truncated and without the key it echoed.
    expect(first.reason).toMatch(
      /Etherscan txlist answered in a shape we do not know; Got: HTTP 200, <html><p>GET \/v2\/api\?.*; Expected: a JSON body: \{status:"1"/,
    );
    expect(first.reason).not.toContain(KEY);
    const meta = r.tokens.get(t);
    if (!isEnrichmentFailure(meta)) throw new Error("expected a failure");
    expect(meta.code).toBe("ATT_PROVIDER_BAD_ANSWER");
    expect(meta.reason).toMatch(
      /Ethplorer getTokenInfo answered in a shape we do not know; Got: HTTP 200, an empty body/,
    );
    expect(outcomes(s)).toEqual(["injected-answer", "injected-answer"]);
    expect(outcomes(t)).toEqual(["injected-answer", "injected-answer"]);
    const redis = testRedis();
    expect(await redis.get(cacheKey(prefix, "firsttx", 1, s))).toBeNull();
    expect(await redis.get(cacheKey(prefix, "token", 1, t))).toBeNull();
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "etherscan" })).toBe(2);

    const later = await e.resolveBatch([txWithTokens(s, [t])], { deadlineMs: 20_000 });
    expect(later.firstTx.get(s)).toBe(FIRST(s));
    expect(later.tokens.get(t)).toMatchObject({ kind: "erc20", symbol: "T19" });
    expect(outcomes(s)).toEqual(["injected-answer", "injected-answer", "ok"]);
  });
});
