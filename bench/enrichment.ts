/**
 * Enrichment cost: API calls per 1,000 transactions with cold and warm caches, and the request
 * rate the providers see against the configured limit. The providers are the local Etherscan /
 * Ethplorer stand-in (test/fixtures/api-standin/server.ts), which records each request's arrival
 * time and enforces the limit over a sliding window as the real APIs do; the enricher is the one
 * `att score` runs (ATT_ENRICH_TOKEN_PROVIDER=ethplorer, ATT_ENRICH_FIRST_TX_PROVIDER=etherscan,
 * BullMQ workers in process, Redis cache under a unique ATT_REDIS_PREFIX).
 *
 *   cold          every lookup goes to the API; batches of --batch transactions through
 *                 resolveBatch one after the other, as one scorer does (limits raised to
 *                 --cold-rate/s so that a run fits in minutes)
 *   warm-redis    the same traffic through a new enricher (empty in-process LRU): Redis only
 *   warm-lru      the same enricher again: in-process LRU only
 *   baselines     the ATT bot's way (one token call per token of each transaction and one
 *                 sender call per transaction, no cache), and the floor (one call per distinct
 *                 address: a perfect shared cache)
 *   rate          the providers' default limits (Etherscan 3/s, Ethplorer 2/s) for --rate-seconds
 *                 on fresh addresses: the busiest 1-s sliding window at the stand-in, and how many
 *                 requests it refused with its rate-limit answer
 *
 * Traffic: transactions of the mainnet CSV (../shared/data), synthetic when absent.
 *
 * Reproduce (needs Redis: deploy/local/stack.sh start):
 *   npx tsx bench/enrichment.ts [--quick] [--transactions 9035] [--batch 1000] [--cold-rate 50]
 *     [--rate-seconds 30]
 * --quick: 1,000 transactions, 10 s at the default limits. Progress on stderr, a table on stdout,
 * results in bench/results/enrichment.json.
 */
import { Redis } from "ioredis";
import { DEFAULT_RATE_MAX } from "../src/enrich/index.js";
import { startStandin, syntheticFirstTx } from "../test/fixtures/api-standin/server.js";
import { benchArgs } from "./lib/args.js";
import { enricherFor, pass, rateFigures, WINDOW_MS } from "./lib/enrichment/passes.js";
import { stackReachable } from "../src/tools/demo/stack.js";
import { uniqueName } from "../test/helpers/names.js";
import { KAFKA_BROKERS, REDIS_URL } from "../test/helpers/services.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { deleteKeys } from "./lib/redis.js";
import { finishReport, startReport, withBaseline, type BenchResult } from "./lib/results.js";
import { readRss } from "./lib/rss.js";
import { fmt, fmtRatio, benchTable } from "./lib/table.js";
import { loadTraffic } from "./lib/traffic.js";

const args = benchArgs({
  batch: "string",
  "cold-rate": "string",
  "rate-seconds": "string",
  transactions: "string",
});
const QUICK = args.quick;
const BATCH = args.num("batch", 1000);
const COLD_RATE = args.num("cold-rate", 50);
const RATE_S = args.num("rate-seconds", QUICK ? 10 : 30);
const LIMITS = { etherscan: DEFAULT_RATE_MAX.etherscan, ethplorer: DEFAULT_RATE_MAX.ethplorer };

const progress = createProgress("enrichment", 5);
const report = startReport(
  "enrichment",
  "Enrichment: API calls per 1,000 transactions, cold and warm; request rate against the limit",
  `npx tsx bench/enrichment.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

async function main(): Promise<void> {
  if (!(await stackReachable(KAFKA_BROKERS, REDIS_URL)).redis) {
    console.error(
      "bench/enrichment: Redis not reachable; start the local stack: deploy/local/stack.sh start",
    );
    process.exit(2);
  }
  const traffic = loadTraffic();
  const n = Math.min(traffic.txs.length, args.num("transactions", QUICK ? 1000 : traffic.txs.length));
  const txs = traffic.txs.slice(0, n);
  const distinctTokens = new Set(txs.flatMap((t) => t.transfers.map((x) => x.token))).size;
  const distinctSenders = new Set(txs.map((t) => t.from)).size;
  const naive = txs.reduce((a, t) => a + new Set(t.transfers.map((x) => x.token)).size + 1, 0);
  const per1k = (calls: number) => (calls / n) * 1000;
  Object.assign(report.settings, {
    traffic: traffic.source,
    transactions: n,
    batch: BATCH,
    cold_rate_per_s: COLD_RATE,
    rate_phase_seconds: RATE_S,
    ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
    ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
    limits: `etherscan ${LIMITS.etherscan}/s, ethplorer ${LIMITS.ethplorer}/s (DEFAULT_RATE_MAX)`,
  });

  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  const cold = {
    ATT_ENRICH_TOKEN_RATE_MAX: String(COLD_RATE),
    ATT_ENRICH_FIRST_TX_RATE_MAX: String(COLD_RATE),
  };
  const api = await startStandin({
    tokens: traffic.tokens,
    firstTx: syntheticFirstTx,
    etherscanRate: { max: COLD_RATE, windowMs: WINDOW_MS },
    ethplorerRate: { max: COLD_RATE, windowMs: WINDOW_MS },
  });
  try {
    progress.phase(
      `cold caches: ${n.toLocaleString("en-US")} transactions (${traffic.source}), ${distinctTokens} tokens, ${distinctSenders} senders, limits raised to ${COLD_RATE}/s`,
    );
    const prefix = uniqueName("bench-enrich");
    prefixes.push(prefix);
    const first = enricherFor(api, redis, prefix, cold);
    const coldStart = api.requests.length;
    const c = await pass(BATCH, first, api, txs, "cold", progress);
    const coldReqs = api.requests.slice(coldStart);
    progress.note(`cold: ${c.calls.etherscan + c.calls.ethplorer} API calls in ${fmt(c.seconds)} s`);

    progress.phase("warm Redis: the same traffic through a new enricher (empty in-process cache)");
    const second = enricherFor(api, redis, prefix, cold);
    const wr = await pass(BATCH, second, api, txs, "warm-redis", progress);
    progress.phase("warm in-process cache: the same enricher again");
    const wl = await pass(BATCH, second, api, txs, "warm-lru", progress);
    await Promise.all([first.close(), second.close()]);
    await api.close();

    progress.phase(
      `provider default limits (Etherscan ${LIMITS.etherscan}/s, Ethplorer ${LIMITS.ethplorer}/s) for ${RATE_S} s, cold cache`,
    );
    const limited = await startStandin({
      tokens: traffic.tokens,
      firstTx: syntheticFirstTx,
      etherscanRate: { max: LIMITS.etherscan, windowMs: WINDOW_MS },
      ethplorerRate: { max: LIMITS.ethplorer, windowMs: WINDOW_MS },
    });
    const prefix2 = uniqueName("bench-enrich-rate");
    prefixes.push(prefix2);
    const third = enricherFor(limited, redis, prefix2, {});
    // More work than fits in the window: the limiter, not the traffic, sets the pace.
    const want = txs.slice(0, Math.min(txs.length, (LIMITS.etherscan + LIMITS.ethplorer) * RATE_S * 3));
    const timer = setInterval(
      () => progress.update(`${limited.requests.length} requests at the stand-in`),
      250,
    );
    const t0 = performance.timeOrigin + performance.now();
    await third.resolveBatch(want, { deadlineMs: RATE_S * 1000 });
    const t1 = performance.timeOrigin + performance.now();
    clearInterval(timer);
    await third.close();
    await limited.close();
    const inWindow = limited.requests.filter((r) => r.at >= t0 && r.at <= t1);
    const es = rateFigures(inWindow, "etherscan", (t1 - t0) / 1000);
    const ep = rateFigures(inWindow, "ethplorer", (t1 - t0) / 1000);
    progress.note(
      `etherscan peak ${es.peak} in 1 s (limit ${LIMITS.etherscan}), ${es.refused} refused; ethplorer peak ${ep.peak} (limit ${LIMITS.ethplorer}), ${ep.refused} refused`,
    );

    // Results.
    const coldCalls = c.calls.etherscan + c.calls.ethplorer;
    const results: BenchResult[] = [
      {
        name: "baseline: ATT bot (a call per token and per sender of every transaction)",
        value: per1k(naive),
        unit: "calls/1k tx",
      },
      {
        name: "floor: one call per distinct address (perfect shared cache)",
        value: per1k(distinctTokens + distinctSenders),
        unit: "calls/1k tx",
      },
      withBaseline(
        {
          name: "cold caches: API calls (Etherscan + Ethplorer)",
          value: per1k(coldCalls),
          unit: "calls/1k tx",
        },
        { name: "ATT bot", value: per1k(naive) },
      ),
      withBaseline(
        { name: "cold caches: vs the floor", value: per1k(coldCalls), unit: "calls/1k tx" },
        { name: "distinct addresses", value: per1k(distinctTokens + distinctSenders) },
      ),
      { name: "cold caches: Etherscan txlist calls", value: per1k(c.calls.etherscan), unit: "calls/1k tx" },
      {
        name: "cold caches: Ethplorer getTokenInfo calls",
        value: per1k(c.calls.ethplorer),
        unit: "calls/1k tx",
      },
      {
        name: "warm Redis (new process): API calls",
        value: per1k(wr.calls.etherscan + wr.calls.ethplorer),
        unit: "calls/1k tx",
      },
      {
        name: "warm in-process cache: API calls",
        value: per1k(wl.calls.etherscan + wl.calls.ethplorer),
        unit: "calls/1k tx",
      },
      withBaseline(
        { name: "warm Redis: resolveBatch throughput", value: n / wr.seconds, unit: "tx/s" },
        { name: "warm in-process cache", value: n / wl.seconds },
      ),
      {
        name: `cold caches at ${COLD_RATE}/s: throughput (the limit sets it)`,
        value: n / c.seconds,
        unit: "tx/s",
      },
      {
        ...withBaseline(
          { name: "Etherscan: busiest 1-s sliding window", value: es.peak, unit: "req/s" },
          { name: "configured limit", value: LIMITS.etherscan },
        ),
        goal: `<= ${LIMITS.etherscan}`,
        met: es.peak <= LIMITS.etherscan,
      },
      {
        ...withBaseline(
          { name: "Ethplorer: busiest 1-s sliding window", value: ep.peak, unit: "req/s" },
          { name: "configured limit", value: LIMITS.ethplorer },
        ),
        goal: `<= ${LIMITS.ethplorer}`,
        met: ep.peak <= LIMITS.ethplorer,
      },
      withBaseline(
        {
          name: "Etherscan: answered requests per second (refused ones not counted)",
          value: es.acceptedPerS,
          unit: "req/s",
        },
        { name: "configured limit", value: LIMITS.etherscan },
      ),
      withBaseline(
        {
          name: "Ethplorer: answered requests per second (refused ones not counted)",
          value: ep.acceptedPerS,
          unit: "req/s",
        },
        { name: "configured limit", value: LIMITS.ethplorer },
      ),
      {
        name: "requests refused with the rate-limit answer (default limits)",
        value: es.refused + ep.refused,
        unit: "requests",
      },
    ];
    report.results = results;
    const coldEs = rateFigures(coldReqs, "etherscan", c.seconds);
    const coldEp = rateFigures(coldReqs, "ethplorer", c.seconds);
    report.notes.push(
      `Cold pass at ${COLD_RATE}/s: busiest 1-s window Etherscan ${coldEs.peak}, Ethplorer ${coldEp.peak}; ${c.calls.refused} requests refused with the rate-limit answer.`,
      `Lookups that failed (cold, warm-redis, warm-lru): ${c.missing}, ${wr.missing}, ${wl.missing}.`,
      `Default-limit phase: ${es.requests + ep.requests} requests in ${fmt((t1 - t0) / 1000)} s. Etherscan arrivals (ms after the first; R = refused with "Max rate limit reached"): ${es.timeline}.${
        es.refused + ep.refused > 0
          ? ` Refused requests arrived less than ${WINDOW_MS} ms after ${LIMITS.etherscan} (Etherscan) or ${LIMITS.ethplorer} (Ethplorer) earlier ones: the queue's limiter let more than the limit into some sliding window, and each refusal paused the queue for ATT_ENRICH_RATE_LIMIT_PAUSE_MS.`
          : ""
      }`,
    );
    report.memory = [
      {
        process: "bench/enrichment.ts (enricher + in-process BullMQ workers + stand-in)",
        peakRssMiB: readRss()?.peakMiB ?? NaN,
      },
    ];
    report.details = {
      distinctTokens,
      distinctSenders,
      naiveCalls: naive,
      cold: c,
      warmRedis: wr,
      warmLru: wl,
      coldPeak: { etherscan: coldEs, ethplorer: coldEp },
      defaultLimits: { etherscan: es, ethplorer: ep, seconds: (t1 - t0) / 1000 },
    };
    const path = finishReport(report);
    console.log("");
    console.log(
      benchTable(
        ["figure", "value", "unit", "baseline", "ratio", "goal"],
        results.map((r) => [
          r.name,
          fmt(r.value),
          r.unit,
          r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)}` : "",
          fmtRatio(r.ratio),
          r.goal ? `${r.goal} ${r.met ? "met" : "MISSED"}` : "",
        ]),
      ),
    );
    console.log("");
    for (const note of report.notes) console.log(`- ${note}`);
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    for (const p of prefixes) await deleteKeys(redis, `${p}*`).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
}

await main();
