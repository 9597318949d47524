import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createEnricher, type EnricherDeps } from "../src/enrich/enricher.js";
import { isEnrichmentFailure } from "../src/enrich/types.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { startStandin, type Standin } from "./fixtures/api-standin/server.js";
import { testPrefix, testRedis } from "./helpers/redis.js";
import { metricValue } from "./helpers/metrics.js";
import { REDIS_URL } from "./helpers/services.js";
import { txWithTokens } from "./helpers/transfers.js";

const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2";
const NOT_TOKEN = "0x57f1887a8bf19b14fc0df6fd9b2acc9af147ea85";
const addr = (i: number) => `0x${(0xabc000 + i).toString(16).padStart(40, "0")}`;
const FIRST = (a: string) => 1_600_000_000 + Number.parseInt(a.slice(-4), 16);

describe("the enrichment queue, cache and workers (real Redis, API stand-in)", () => {
  let api: Standin;
  beforeAll(async () => {
    api = await startStandin({
      latencyMs: 30,
      etherscanKeys: ["es-key"],
      ethplorerKeys: ["freekey"],
      firstTx: (a) => (a.startsWith("0x0000000000000000000000000000000000ab") ? FIRST(a) : null),
      tokens: [
        { address: USDC, name: "USD Coin", symbol: "USDC", decimals: 6 },
        { address: WETH, name: "Wrapped Ether", symbol: "WETH", decimals: 18 },
      ],
    });
  });
  afterAll(() => api.close());

  /** An enricher (with in-process workers unless told otherwise) on a test-private prefix. */
  function enricher(prefix: string, env: Record<string, string> = {}, over: Partial<EnricherDeps> = {}) {
    const config = loadConfig({
      ATT_REDIS_URL: REDIS_URL,
      ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
      ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
      ATT_ETHPLORER_URL: api.url,
      ATT_ETHERSCAN_URL: `${api.url}/api`,
      ATT_ETHERSCAN_API_KEY: "es-key",
      ATT_ENRICH_TOKEN_RATE_MAX: "100",
      ATT_ENRICH_FIRST_TX_RATE_MAX: "100",
      ATT_ENRICH_BACKOFF_MS: "50",
      ATT_ENRICH_POLL_MS: "200",
      ...env,
    });
    const e = createEnricher({
      redis: testRedis(),
      queuePrefix: prefix,
      config,
      logger: createLogger({ level: "silent" }),
      registry: new Registry(),
      workers: true,
      ...over,
    });
    onTestFinished(() => e.close());
    return e;
  }
  const requestsFor = (address: string) => api.requests.filter((r) => r.address === address);

  it("resolves a batch's tokens and senders, then serves them from memory and from Redis without calling the API again", async () => {
    const prefix = testPrefix("enrq");
    const sender = addr(1);
    const txs = [txWithTokens(sender, [USDC, WETH, NOT_TOKEN]), txWithTokens(addr(2), [USDC])];
    const first = enricher(prefix);
    const r = await first.resolveBatch(txs, { deadlineMs: 20_000 });
    expect(r.tokens.get(USDC)).toEqual({
      address: USDC,
      kind: "erc20",
      name: "USD Coin",
      symbol: "USDC",
      decimals: 6,
    });
    expect(r.tokens.get(NOT_TOKEN)).toMatchObject({ kind: "not-erc20", decimals: null });
    expect(r.firstTx.get(sender)).toBe(FIRST(sender));
    expect(r.firstTx.get(addr(2))).toBe(FIRST(addr(2)));
    const calls = api.requests.length;

    await first.resolveBatch(txs, { deadlineMs: 20_000 }); // in-process LRU
    const redis = testRedis();
    const mget = redis.mget.bind(redis);
    let mgets = 0;
    redis.mget = ((...args: Parameters<typeof mget>) => {
      mgets += 1;
      return mget(...args);
    }) as typeof redis.mget;
    const second = enricher(prefix, {}, { workers: false, redis }); // another replica: Redis
    const again = await second.resolveBatch(txs, { deadlineMs: 20_000 });
    expect(mgets).toBe(1); // 3 tokens and 2 senders in one round trip
    expect(again.tokens.get(WETH)).toMatchObject({ symbol: "WETH", decimals: 18 });
    expect(again.firstTx.get(sender)).toBe(FIRST(sender));
    expect(api.requests.length).toBe(calls);
  });

  it("asks the API once per address when several replicas want it at the same time", async () => {
    const prefix = testPrefix("enrq");
    const senders = [addr(10), addr(11), addr(12), addr(13)];
    const txs = senders.map((s) => txWithTokens(s, [USDC, WETH]));
    const replicas = [enricher(prefix), enricher(prefix), enricher(prefix)];
    const results = await Promise.all(replicas.map((e) => e.resolveBatch(txs, { deadlineMs: 20_000 })));
    for (const r of results) for (const s of senders) expect(r.firstTx.get(s)).toBe(FIRST(s));
    for (const s of senders) expect(requestsFor(s)).toHaveLength(1);
  });

  it("pauses the queue on 'Max rate limit reached', retries, and resolves every sender", async () => {
    const strict = await startStandin({ etherscanRate: { max: 2, windowMs: 1000 }, firstTx: FIRST });
    onTestFinished(() => strict.close());
    const prefix = testPrefix("enrq");
    const senders = Array.from({ length: 6 }, (_, i) => addr(20 + i));
    const registry = new Registry();
    const e = enricher(
      prefix,
      {
        ATT_ETHERSCAN_URL: `${strict.url}/api`,
        ATT_ENRICH_FIRST_TX_RATE_MAX: "50",
        ATT_ENRICH_RATE_LIMIT_PAUSE_MS: "300",
        ATT_ENRICH_ATTEMPTS: "1", // a rate-limit wait must not use up the only attempt
      },
      { registry },
    );
    const r = await e.resolveBatch(
      senders.map((s) => txWithTokens(s, [USDC])),
      { deadlineMs: 30_000 },
    );
    for (const s of senders) expect(r.firstTx.get(s)).toBe(FIRST(s));
    expect(strict.requests.some((q) => q.outcome === "rate-limited")).toBe(true);
    // Queue-wide pause: after each refusal nothing reaches the API for the pause (300 ms; 10 %
    // slack for timer granularity), although the limiter alone would allow a request every 22 ms.
    const refused = strict.requests.filter((q) => q.outcome === "rate-limited");
    for (const q of refused) {
      const next = strict.requests.find((n) => n.at > q.at);
      if (next) expect(next.at - q.at, "ms from a refusal to the next request").toBeGreaterThanOrEqual(270);
    }
    expect(await metricValue(registry, "att_enrich_rate_limit_waits_total", { provider: "etherscan" })).toBe(
      refused.length,
    );
    expect(
      await metricValue(registry, "att_enrich_rate_limit_wait_seconds_total", { provider: "etherscan" }),
    ).toBeCloseTo(refused.length * 0.3, 6);
  });

  it("fails fast on an invalid API key: one call, a failure with the provider's code, no retries", async () => {
    const prefix = testPrefix("enrq");
    const sender = addr(30);
    const e = enricher(prefix, { ATT_ETHERSCAN_API_KEY: "wrong-key", ATT_ENRICH_ATTEMPTS: "5" });
    const r = await e.resolveBatch([txWithTokens(sender, [USDC])], { deadlineMs: 20_000 });
    const f = r.firstTx.get(sender);
    expect(isEnrichmentFailure(f) && f.code).toBe("ATT_ETHERSCAN_INVALID_KEY");
    expect(requestsFor(sender)).toHaveLength(1);
    expect(JSON.stringify(f)).not.toContain("wrong-key");
  });

  it("retries a transient HTTP 500 with backoff and gets the value", async () => {
    const prefix = testPrefix("enrq");
    const sender = addr(40);
    api.failNext("etherscan", 2);
    const e = enricher(prefix, { ATT_ENRICH_ATTEMPTS: "4", ATT_ENRICH_BACKOFF_MS: "200" });
    const r = await e.resolveBatch([txWithTokens(sender, [USDC])], { deadlineMs: 20_000 });
    expect(r.firstTx.get(sender)).toBe(FIRST(sender));
    // Exponential: 200 ms before the 2nd attempt, 400 ms before the 3rd (a fixed backoff fails this).
    const at = requestsFor(sender).map((q) => q.at);
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(190);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(380);
  });

  it("gives a reason instead of a value when the deadline passes, and the value to a later batch", async () => {
    const prefix = testPrefix("enrq");
    const sender = addr(50);
    const registry = new Registry();
    const noWorkers = enricher(prefix, {}, { workers: false, registry });
    const r = await noWorkers.resolveBatch([txWithTokens(sender, [WETH])], { deadlineMs: 300 });
    const f = r.firstTx.get(sender);
    expect(isEnrichmentFailure(f) && f.code).toBe("ATT_ENRICHMENT_TIMEOUT");
    expect(isEnrichmentFailure(f) && f.reason).toMatch(
      /not available within 300 ms: queue enrich-firsttx-etherscan has 1 waiting/,
    );
    // The queue depth metric, read from Redis at scrape time, shows the job nobody has taken.
    expect(
      await metricValue(registry, "att_enrich_queue_jobs", {
        queue: "enrich-firsttx-etherscan",
        state: "waiting",
      }),
    ).toBe(1);
    enricher(prefix); // a worker comes up; the job queued above is served
    const later = await noWorkers.resolveBatch([txWithTokens(sender, [WETH])], { deadlineMs: 20_000 });
    expect(later.firstTx.get(sender)).toBe(FIRST(sender));
  });

  it("skips first-transaction lookups when the model does not need them", async () => {
    const prefix = testPrefix("enrq");
    const sender = addr(60);
    const r = await enricher(prefix).resolveBatch([txWithTokens(sender, [USDC])], {
      deadlineMs: 20_000,
      firstTx: false,
    });
    expect(r.firstTx.size).toBe(0);
    expect(r.tokens.get(USDC)).toMatchObject({ symbol: "USDC" });
    expect(requestsFor(sender)).toHaveLength(0);
  });

  it("reports a sender with no transaction as null and does not cache that for good", async () => {
    const prefix = testPrefix("enrq");
    const nobody = "0x00000000000000000000000000000000000fffff";
    const e = enricher(prefix, { ATT_ENRICH_FIRST_TX_NONE_TTL_SEC: "30" });
    const r = await e.resolveBatch([txWithTokens(nobody, [USDC])], { deadlineMs: 20_000 });
    expect(r.firstTx.get(nobody)).toBeNull();
    const ttl = await testRedis().pttl(`${prefix}:enrich-cache:firsttx:1:${nobody}`);
    expect(ttl).toBeGreaterThan(0); // -1 would mean "kept forever"
    expect(ttl).toBeLessThanOrEqual(30_000);
  });
});
