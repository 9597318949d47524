import { describe, expect, it, onTestFinished } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { createEnricher } from "../src/enrich/enricher.js";
import { cacheKey } from "../src/enrich/keys.js";
import { createFeatureBatcher } from "../src/features/batch.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import {
  connectAnvil,
  deployBytes32Token,
  deployErc20,
  deployNotAToken,
} from "./fixtures/contracts/deploy.js";
import { startRpcStandin, type RpcRequestCall } from "./fixtures/api-standin/server.js";
import { useAnvil, waitForReceipt } from "./helpers/anvil.js";
import { metricValue } from "./helpers/metrics.js";
import { testPrefix, testRedis } from "./helpers/redis.js";
import { REDIS_URL } from "./helpers/services.js";
import { txWithTokens } from "./helpers/transfers.js";

describe("features of a transaction enriched from the node (rpc + otterscan through the queue)", () => {
  const anvil = useAnvil();

  it("computes the features from deployed tokens and the sender's first transaction, and counts it in the metrics", async () => {
    const a = anvil.get();
    const { signer } = await connectAnvil(a.httpUrl);
    const usdc = (
      await (await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 })).getAddress()
    ).toLowerCase();
    const mkr = (
      await (await deployBytes32Token(signer, { name: "Maker", symbol: "MKR", decimals: 18 })).getAddress()
    ).toLowerCase();
    const other = (await (await deployNotAToken(signer)).getAddress()).toLowerCase();
    const sender = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65"; // anvil account 4
    const latest = await a.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const t0 = Number(BigInt(latest.timestamp)) + 100;
    await a.rpc("evm_setNextBlockTimestamp", [t0]);
    const sent = await a.rpc<string>("eth_sendTransaction", [{ from: sender, to: usdc, value: "0x0" }]);
    expect(await waitForReceipt(a, sent)).not.toBeNull();

    const tx: TokenTransferTx = {
      v: 1,
      chainId: 31337,
      blockNumber: 99,
      blockHash: `0x${"aa".repeat(32)}`,
      blockTimestamp: t0 + 600,
      txHash: `0x${"bb".repeat(32)}`,
      txIndex: 0,
      from: sender,
      to: null,
      transfers: [
        { logIndex: 0, token: usdc, from: sender, to: other, value: "2500000" },
        { logIndex: 1, token: mkr, from: sender, to: other, value: "1000000000000000000" },
        { logIndex: 2, token: other, from: sender, to: other, value: "7" },
      ],
      observedAt: 0,
    };
    const registry = new Registry();
    const enricher = createEnricher({
      redis: testRedis(),
      queuePrefix: testPrefix("enrnode"),
      config: loadConfig({ ATT_REDIS_URL: REDIS_URL, ATT_RPC_HTTP_URL: a.httpUrl, ATT_CHAIN_ID: "31337" }),
      logger: createLogger({ level: "silent" }),
      registry,
      workers: true,
    });
    onTestFinished(() => enricher.close());
    const features = createFeatureBatcher({
      enricher,
      spec: {
        features: [
          "USDC_transfers",
          "USDC_value",
          "MKR_value",
          "account_active_period_in_minutes",
          "tokens_type_counts",
          "transfer_counts",
        ],
        tokenMatch: "symbol",
        tokens: [{ symbol: "USDC" }, { symbol: "MKR" }],
      },
    });
    const [r] = await features.computeBatch([tx], { deadlineMs: 20_000 });
    if (!r!.ok) throw new Error(`${r!.code}: ${r!.reason}`);
    expect(Array.from(r!.values)).toEqual([1, 2.5, 1, 10, 2, 3]);
    expect(r!.tokenTypes).toEqual(["Maker-MKR", "USD Coin-USDC"]);

    await features.computeBatch([tx], { deadlineMs: 20_000 });
    const text = await registry.metrics();
    expect(text).toContain('att_enrich_api_calls_total{provider="rpc",outcome="ok"} 2');
    expect(text).toContain('att_enrich_api_calls_total{provider="rpc",outcome="not_token"} 1');
    expect(text).toContain('att_enrich_api_calls_total{provider="otterscan",outcome="ok"} 1');
    expect(text).toContain('att_enrich_cache_lookups_total{cache="memory",kind="token",result="hit"} 3');
    expect(text).toContain('att_enrich_cache_lookups_total{cache="redis",kind="firsttx",result="miss"} 1');
    expect(text).toContain('att_enrich_cache_hit_ratio{cache="memory"} 0.5'); // 4 misses, then 4 hits
    expect(text).toMatch(/att_enrich_queue_jobs\{queue="enrich-token-rpc",state="waiting"\} 0/);
  });
});

describe("answers in a shape the node does not send, through the queue (issue 13)", () => {
  const anvil = useAnvil();
  /** The shape: ots_searchTransactionsAfter answering {"result":{"weird":[…]}}. */
  const weird = {
    json: (calls: RpcRequestCall[]) =>
      calls.map((c) => ({ jsonrpc: "2.0", id: c.id, result: { weird: [{ blockNumber: "0x1" }] } })),
  };
  /** decimals() answered with a JSON number (6) instead of hex data: once read as "not a token". */
  const numberDecimals = {
    json: (calls: RpcRequestCall[]) =>
      calls.map((c) => ({
        jsonrpc: "2.0",
        id: c.id,
        result: (c.params[0] as { data: string }).data === "0x313ce567" ? 6 : "0x",
      })),
  };

  async function setup(attempts: number) {
    const a = anvil.get();
    const { signer } = await connectAnvil(a.httpUrl);
    const usdc = (
      await (await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 })).getAddress()
    ).toLowerCase();
    const sender = "0xa0ee7a142d267c1f36714e4a8f75612f20a79720"; // anvil account 9
    const latest = await a.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const t0 = Number(BigInt(latest.timestamp)) + 100;
    await a.rpc("evm_setNextBlockTimestamp", [t0]);
    const sent = await a.rpc<string>("eth_sendTransaction", [{ from: sender, to: usdc, value: "0x0" }]);
    expect(await waitForReceipt(a, sent)).not.toBeNull();
    const rpc = await startRpcStandin(a.httpUrl);
    onTestFinished(() => rpc.close());
    const registry = new Registry();
    const prefix = testPrefix("enrbad");
    const enricher = createEnricher({
      redis: testRedis(),
      queuePrefix: prefix,
      config: loadConfig({
        ATT_REDIS_URL: REDIS_URL,
        ATT_RPC_HTTP_URL: rpc.url,
        ATT_CHAIN_ID: "31337",
        ATT_ENRICH_ATTEMPTS: String(attempts),
        ATT_ENRICH_BACKOFF_MS: "20",
        ATT_ENRICH_POLL_MS: "200",
      }),
      logger: createLogger({ level: "silent" }),
      registry,
      workers: true,
    });
    onTestFinished(() => enricher.close());
    const tx = { ...txWithTokens(sender, [usdc]), chainId: 31337, blockTimestamp: t0 + 600 };
    return { rpc, registry, prefix, enricher, usdc, sender, t0, tx };
  }
  const USDC_META = { kind: "erc20", name: "USD Coin", symbol: "USDC", decimals: 6 };
  const injectedOf = (rpc: { requests: { methods: string[]; injected: boolean }[] }, method: string) =>
    rpc.requests.filter((r) => r.methods.includes(method)).map((r) => r.injected);

  it("retries a wrong-shaped ots_searchTransactionsAfter and eth_call answer and caches only the correct answer that follows", async () => {
    const { rpc, registry, prefix, enricher, usdc, sender, t0, tx } = await setup(2);
    rpc.injectNext("ots_searchTransactionsAfter", weird);
    rpc.injectNext("eth_call", numberDecimals);
    const r = await enricher.resolveBatch([tx], { deadlineMs: 20_000 });
    expect(r.firstTx.get(sender)).toBe(t0);
    expect(r.tokens.get(usdc)).toMatchObject(USDC_META);
    expect(injectedOf(rpc, "ots_searchTransactionsAfter")).toEqual([true, false]);
    expect(injectedOf(rpc, "eth_call")).toEqual([true, false]);
    const redis = testRedis();
    expect(await redis.get(cacheKey(prefix, "firsttx", 31337, sender))).toBe(String(t0));
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "otterscan" })).toBe(1);
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "rpc" })).toBe(1);
  });

  it("makes the transaction's features fail with ATT_PROVIDER_BAD_ANSWER when every attempt got a wrong shape, caches nothing, and computes them later", async () => {
    const { rpc, registry, prefix, enricher, sender, tx } = await setup(2);
    rpc.injectNext("ots_searchTransactionsAfter", weird, weird);
    const features = createFeatureBatcher({
      enricher,
      spec: {
        features: ["USDC_transfers", "account_active_period_in_minutes"],
        tokenMatch: "symbol",
        tokens: [{ symbol: "USDC" }],
      },
    });
    const [r] = await features.computeBatch([tx], { deadlineMs: 20_000 });
    if (r!.ok) throw new Error("expected the row to fail");
    expect(r!.code).toBe("ATT_PROVIDER_BAD_ANSWER");
    expect(r!.reason).toMatch(
      /ots_searchTransactionsAfter answered in a shape we do not know; Got: \{"weird":\[\{"blockNumber":"0x1"\}\]\}; Expected: \{txs: \[/,
    );
    expect(injectedOf(rpc, "ots_searchTransactionsAfter")).toEqual([true, true]);
    expect(await testRedis().get(cacheKey(prefix, "firsttx", 31337, sender))).toBeNull();
    expect(await metricValue(registry, "att_enrich_bad_answers_total", { provider: "otterscan" })).toBe(2);

    const [again] = await features.computeBatch([tx], { deadlineMs: 20_000 });
    if (!again!.ok) throw new Error(`${again!.code}: ${again!.reason}`);
    expect(Array.from(again!.values)).toEqual([1, 10]);
    expect(injectedOf(rpc, "ots_searchTransactionsAfter")).toEqual([true, true, false]);
  });
});
