import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  parseTokenTransferTx,
  serializeTokenTransferTx,
  type TokenTransferTx,
} from "../src/contracts/token-transfer-tx.js";
import { createEnricher } from "../src/enrich/enricher.js";
import { createFeatureBatcher, type FeatureResult, type FeatureSpec } from "../src/features/index.js";
import { DEAD_ADDRESS, ZERO_ADDRESS } from "../src/features/transaction.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { startStandin, type Standin } from "./fixtures/api-standin/server.js";
import { metricValue } from "./helpers/metrics.js";
import { testPrefix, testRedis } from "./helpers/redis.js";
import { REDIS_URL } from "./helpers/services.js";

// The score stage's feature path (createFeatureBatcher over a real enricher: Redis, BullMQ
// queues, in-process workers, the Etherscan/Ethplorer stand-in) fed hand-built messages that went
// through the transfers topic's parser.
const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const SHIB = "0x95ad61b0a150d79219dcf64e1e6cc01f0b64c4ce";
const NOT_TOKEN = "0x57f1887a8bf19b14fc0df6fd9b2acc9af147ea85";
const SENDER = "0x00000000000000000000000000000000000ab001";
const OTHER = "0x00000000000000000000000000000000000ab002";
const POOL = "0x37a48e35d0e98c3bacfeb025bd76b173eb736257";
const FIRST_TX = 1_600_000_000;
const TS = FIRST_TX + 3_000;

function message(
  i: number,
  from: string,
  transfers: [token: string, from: string, to: string, value: string][],
): TokenTransferTx {
  const tx: TokenTransferTx = {
    v: 1,
    chainId: 1,
    blockNumber: 100 + i,
    blockHash: `0x${(100 + i).toString(16).padStart(64, "0")}`,
    blockTimestamp: TS,
    txHash: `0x${(0xbeef00 + i).toString(16).padStart(64, "0")}`,
    txIndex: i,
    from,
    to: POOL,
    transfers: transfers.map(([token, f, to, value], k) => ({ logIndex: k, token, from: f, to, value })),
    observedAt: 0,
  };
  // As the score stage gets it: bytes off the transfers topic, parsed and checked.
  return parseTokenTransferTx(Buffer.from(serializeTokenTransferTx(tx)));
}

const MESSAGES = [
  // a swap: USDC in, SHIB back to the sender
  message(0, SENDER, [
    [USDC, SENDER, POOL, "2500000"],
    [SHIB, POOL, SENDER, "1000000000000000000000"],
  ]),
  // a mint to the sender, a burn to 0x…dead, a zero-value self-transfer of a non-token
  message(1, OTHER, [
    [SHIB, ZERO_ADDRESS, OTHER, "5000000000000000000"],
    [SHIB, OTHER, DEAD_ADDRESS, "1000000000000000000"],
    [NOT_TOKEN, OTHER, OTHER, "0"],
  ]),
  // address poisoning: zero-value USDC transfers "from" the victim to look-alike addresses
  message(2, OTHER, [
    [USDC, SENDER, "0x00000000000000000000000000000000000ab0f1", "0"],
    [USDC, SENDER, "0x00000000000000000000000000000000000ab0f2", "0"],
    [USDC, SENDER, "0x00000000000000000000000000000000000ab0f1", "0"],
  ]),
];

const TX_ONLY: FeatureSpec = {
  features: [
    "n_burns",
    "n_distinct_senders",
    "n_distinct_receivers",
    "n_mints",
    "n_self_transfers",
    "n_zero_value_transfers",
    "n_transfers_to_tx_sender",
    "max_transfers_per_token",
    "n_distinct_tokens",
  ],
  tokenMatch: "symbol",
  tokens: [],
};
// Worked out by hand, in TX_ONLY's order.
const TX_ONLY_ROWS = [
  [0, 2, 2, 0, 0, 0, 1, 1, 2],
  [1, 2, 2, 1, 1, 1, 2, 2, 2],
  [0, 1, 2, 0, 0, 3, 0, 3, 1],
];

function rows(results: FeatureResult[]): number[][] {
  return results.map((r) => {
    if (!r.ok) throw new Error(`expected features, got ${r.code}: ${r.reason}`);
    return Array.from(r.values);
  });
}

describe("a card of transaction-level features through the score stage's feature batcher", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      etherscanKeys: ["es-key"],
      ethplorerKeys: ["freekey"],
      firstTx: (a) => (a === SENDER || a === OTHER ? FIRST_TX : null),
      tokens: [
        { address: USDC, name: "USD Coin", symbol: "USDC", decimals: 6 },
        { address: SHIB, name: "SHIBA INU", symbol: "SHIB", decimals: 18 },
      ],
    });
  });
  afterAll(() => api.close());

  function batcherFor(spec: FeatureSpec, env: Record<string, string> = {}) {
    const prefix = testPrefix("featbatch");
    const registry = new Registry();
    const enricher = createEnricher({
      redis: testRedis(),
      queuePrefix: prefix,
      config: loadConfig({
        ATT_REDIS_URL: REDIS_URL,
        ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
        ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
        ATT_ETHPLORER_URL: api.url,
        ATT_ETHERSCAN_URL: `${api.url}/api`,
        ATT_ETHERSCAN_API_KEY: "es-key",
        ATT_ENRICH_BACKOFF_MS: "50",
        ATT_ENRICH_POLL_MS: "200",
        ...env,
      }),
      logger: createLogger({ level: "silent" }),
      registry,
      workers: true,
    });
    onTestFinished(() => enricher.close());
    return { batcher: createFeatureBatcher({ enricher, spec }), registry, prefix };
  }
  const lookups = async (registry: Registry) =>
    (await metricValue(registry, "att_enrich_cache_lookups_total", { cache: "memory", result: "miss" })) +
    (await metricValue(registry, "att_enrich_cache_lookups_total", { cache: "memory", result: "hit" }));

  it("yields the hand-computed rows and asks the enricher nothing (no lookup, no API call)", async () => {
    const { batcher, registry, prefix } = batcherFor(TX_ONLY);
    const calls = api.requests.length;
    const results = await batcher.computeBatch(MESSAGES, { deadlineMs: 10_000 });
    expect(rows(results)).toEqual(TX_ONLY_ROWS);
    expect(results[0]).toMatchObject({ tokenTypes: [], maxSingleTokenName: "", transferCount: 2 });
    expect(await lookups(registry)).toBe(0);
    expect(api.requests.length).toBe(calls);
    const redis = testRedis();
    // Nothing cached, queued or counted: only the idle workers' own bookkeeping keys exist.
    const keys = await redis.keys(`*${prefix}*`);
    expect(keys.filter((k) => !/:(meta|stalled-check)$/.test(k))).toEqual([]);
  });

  it("still yields them when every token lookup would fail (a revoked Ethplorer key)", async () => {
    const { batcher } = batcherFor(TX_ONLY, { ATT_ETHPLORER_API_KEY: "revoked" });
    expect(rows(await batcher.computeBatch(MESSAGES, { deadlineMs: 10_000 }))).toEqual(TX_ONLY_ROWS);
    // The same enricher fails a card that needs token metadata: the key problem is real.
    const { batcher: withTokens } = batcherFor(
      { ...TX_ONLY, features: ["n_mints", "USDC_value"] },
      { ATT_ETHPLORER_API_KEY: "revoked" },
    );
    const failed = await withTokens.computeBatch(MESSAGES.slice(0, 1), { deadlineMs: 10_000 });
    expect(failed[0]).toMatchObject({ ok: false, code: "ATT_ETHPLORER_INVALID_KEY" });
  });

  it("mixes them with enriched features (address-matched tokens, the active period) in the card's order", async () => {
    const spec: FeatureSpec = {
      features: [
        "SHIB_value",
        "n_mints",
        "account_active_period_in_minutes",
        "USDC_transfers",
        "n_distinct_tokens",
        "tokens_type_counts",
      ],
      tokenMatch: "address",
      tokens: [
        { symbol: "USDC", address: USDC },
        { symbol: "SHIB", address: SHIB },
      ],
    };
    const { batcher, registry } = batcherFor(spec);
    const results = await batcher.computeBatch(MESSAGES, { deadlineMs: 20_000 });
    // active period (TS - FIRST_TX) / 60 = 50; the non-token counts in n_distinct_tokens only.
    expect(rows(results)).toEqual([
      [1000, 0, 50, 1, 2, 2],
      [6, 1, 50, 0, 2, 1],
      [0, 0, 50, 3, 1, 1],
    ]);
    expect(results[1]).toMatchObject({ tokenTypes: ["SHIBA INU-SHIB"], maxSingleTokenName: "SHIBA INU" });
    expect(await lookups(registry)).toBeGreaterThan(0);
  });
});
