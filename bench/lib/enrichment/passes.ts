import type { Redis } from "ioredis";
import type { TokenTransferTx } from "../../../src/contracts/token-transfer-tx.js";
import { createEnricher, isEnrichmentFailure, type Enricher } from "../../../src/enrich/index.js";
import { loadConfig } from "../../../src/kernel/config/index.js";
import { createLogger } from "../../../src/kernel/logger.js";
import { Registry } from "../../../src/kernel/metrics.js";
import type { Standin, StandinRequest } from "../../../test/fixtures/api-standin/server.js";
import type { Progress } from "../progress.js";
import { REDIS_URL } from "../../../test/helpers/services.js";
import { slidingWindowMax } from "../stats.js";

/** The providers' limit window (Etherscan: calls per second). */
export const WINDOW_MS = 1000;

export const batches = <T>(xs: T[], n: number) =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** The enricher `att score` runs, against the stand-in, under its own Redis prefix; `rates` = ATT_ENRICH_*_RATE_MAX overrides. */
export function enricherFor(
  api: Standin,
  redis: Redis,
  prefix: string,
  rates: Record<string, string>,
): Enricher {
  const config = loadConfig({
    ATT_REDIS_URL: REDIS_URL,
    ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
    ATT_ETHPLORER_URL: api.url,
    ATT_ETHPLORER_API_KEY: "bench",
    ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
    ATT_ETHERSCAN_URL: `${api.url}/api`,
    ATT_ETHERSCAN_API_KEY: "bench",
    ...rates,
  });
  return createEnricher({
    redis,
    queuePrefix: prefix,
    config,
    logger: createLogger({ level: "error" }),
    registry: new Registry(),
    workers: true,
  });
}

export interface Pass {
  seconds: number;
  calls: { etherscan: number; ethplorer: number; refused: number };
  missing: number;
}

/** Resolves `txs` batch after batch; counts the stand-in's requests made meanwhile. */
export async function pass(
  batch: number,
  e: Enricher,
  api: Standin,
  txs: TokenTransferTx[],
  label: string,
  p: Progress,
): Promise<Pass> {
  const before = api.requests.length;
  const t0 = performance.now();
  let done = 0;
  let missing = 0;
  const timer = setInterval(
    () =>
      p.update(
        `${label}: ${done.toLocaleString("en-US")} / ${txs.length.toLocaleString("en-US")} transactions, ${api.requests.length - before} API calls`,
      ),
    250,
  );
  try {
    for (const b of batches(txs, batch)) {
      const r = await e.resolveBatch(b, { deadlineMs: 900_000 });
      missing += [...r.tokens.values(), ...r.firstTx.values()].filter(isEnrichmentFailure).length;
      done += b.length;
    }
  } finally {
    clearInterval(timer);
  }
  const reqs = api.requests.slice(before);
  return {
    seconds: (performance.now() - t0) / 1000,
    calls: {
      etherscan: reqs.filter((r) => r.api === "etherscan" && r.outcome !== "rate-limited").length,
      ethplorer: reqs.filter((r) => r.api === "ethplorer" && r.outcome !== "rate-limited").length,
      refused: reqs.filter((r) => r.outcome === "rate-limited").length,
    },
    missing,
  };
}

/** What the stand-in saw of one API: requests, refusals, the busiest sliding window, the answered rate. */
export function rateFigures(reqs: StandinRequest[], api: "etherscan" | "ethplorer", seconds: number) {
  const mine = reqs.filter((r) => r.api === api);
  const times = mine.map((r) => r.at);
  const refused = mine.filter((r) => r.outcome === "rate-limited").length;
  const t0 = Math.min(...times);
  return {
    requests: mine.length,
    refused,
    peak: slidingWindowMax(times, WINDOW_MS),
    /** Requests the provider answered (not with its rate-limit answer) per second of the phase. */
    acceptedPerS: (mine.length - refused) / seconds,
    /** Arrival times (ms after the first request; R = refused) of the first 24 requests. */
    timeline: mine
      .slice(0, 24)
      .map((r) => `${Math.round(r.at - t0)}${r.outcome === "rate-limited" ? "R" : ""}`)
      .join(" "),
  };
}
