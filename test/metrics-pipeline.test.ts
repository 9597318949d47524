import { describe, expect, it, onTestFinished } from "vitest";
import { parseFinding } from "../src/contracts/finding.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { createMetricsRegistry, startHealthServer } from "../src/kernel/metrics.js";
import { createScoreStage } from "../src/score/stage.js";
import { connectAnvil, deployErc20 } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import { connectedProducer, createTestTopic, readTopic } from "./helpers/kafka.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { uniqueName } from "./helpers/names.js";
import { testPrefix, testRedis } from "./helpers/redis.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";
import { ingestOptions, ingestTopics, startIngester } from "./ingest-harness.js";

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text exposition → samples (enough of the format for prom-client's output). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function has(samples: Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

describe("/metrics after a pipeline run", () => {
  const anvil = useAnvil();

  it("carries the score, enrichment, drift and process metrics with values that match the run", async () => {
    const t = await createScoreTopics("metrics", { transfers: 2, findings: 2 });
    const { transfers, findings, prefix } = t;
    const env = scoreEnv({
      ...t,
      extra: {
        ATT_LOG_LEVEL: "warn",
        ATT_RPC_HTTP_URL: "http://127.0.0.1:9",
        ATT_SCORE_ENRICH_DEADLINE_MS: "1500",
        ATT_DRIFT_WINDOW_SIZE: "100",
      },
    });
    const txs = syntheticTxs(300, { seed: 77 });
    await seedEnrichmentCache(testRedis(), prefix, txs);
    const producer = await connectedProducer();
    await producer.send({
      topic: transfers,
      messages: [...toKafkaMessages(txs), { key: "0xbad", value: "not json" }],
    });

    const config = loadConfig(env);
    const logger = createLogger({ level: "warn" });
    const registry = createMetricsRegistry("score");
    const stage = await createScoreStage({ config, logger, registry });
    onTestFinished(() => stage.stop());
    const server = await startHealthServer({ registry, port: 0, host: "127.0.0.1", logger });
    onTestFinished(() => server.close());
    server.addReadinessCheck("consumer-group", () => stage.isReady());
    const base = `http://127.0.0.1:${server.port}`;
    await stage.start();

    // 300 scored transactions close three drift windows; an alarming window adds a MODEL-DRIFT
    // finding in the same transaction as its batch.
    const all = (await readTopic(findings, txs.length + 3, { timeoutMs: 8000 })).map((m) =>
      parseFinding(m.value!),
    );
    const driftFindings = all.filter((f) => f.alertId === "MODEL-DRIFT");
    const out = all.filter((f) => f.alertId !== "MODEL-DRIFT");
    expect(out).toHaveLength(txs.length);
    const scored = out.filter(
      (f) => f.metadata.anomaly_score !== undefined && f.alertId !== "INVALID-TOKEN-TRANSFERS-TX",
    );
    const anomalous = out.filter((f) => f.alertId === "ANOMALOUS-TOKEN-TRANSFERS-TX").length;

    // The stage runs the drift monitor itself (ATT_DRIFT_WINDOW_SIZE=100 → a window per 100 scored).
    const names = stage.model.features;
    const scrape = async () => parseExposition(await (await fetch(`${base}/metrics`)).text());
    // Counters move right after the commit that readTopic already saw: poll, don't sleep.
    await expect
      .poll(async () => sum(await scrape(), "att_score_findings_total"), { timeout: 15_000 })
      .toBe(txs.length);
    await expect.poll(async () => sum(await scrape(), "att_score_consumer_lag"), { timeout: 15_000 }).toBe(0);
    const m = await scrape();

    expect(sum(m, "att_score_findings_total", { alert_id: "ANOMALOUS-TOKEN-TRANSFERS-TX" })).toBe(anomalous);
    expect(sum(m, "att_score_dlq_total")).toBe(1);
    expect(sum(m, "att_score_batch_size_sum")).toBe(txs.length + 1);
    expect(sum(m, "att_score_batch_size_count")).toBeGreaterThanOrEqual(1);
    expect(sum(m, "att_score_anomaly_score_count")).toBe(scored.length);
    expect(sum(m, "att_score_anomaly_rate")).toBeCloseTo(anomalous / scored.length, 9);
    expect(sum(m, "att_score_model_seconds_sum")).toBeGreaterThan(0);
    expect(sum(m, "att_score_feature_seconds_count")).toBe(sum(m, "att_score_batch_size_count"));
    expect(sum(m, "att_score_e2e_latency_seconds_count")).toBe(txs.length);
    // Lag is per partition, computed at scrape time.
    expect(
      m
        .filter((s) => s.name === "att_score_consumer_lag")
        .map((s) => s.labels.partition)
        .sort(),
    ).toEqual(["0", "1"]);

    // One ratio per cache (memory, redis); the seeded Redis cache answers the lookups.
    const ratios = m.filter((x) => x.name === "att_enrich_cache_hit_ratio");
    expect(ratios.map((r) => r.labels.cache).sort()).toEqual(["memory", "redis"]);
    for (const r of ratios) {
      expect(r.value).toBeGreaterThanOrEqual(0);
      expect(r.value).toBeLessThanOrEqual(1);
    }
    expect(ratios.find((r) => r.labels.cache === "redis")!.value).toBeGreaterThan(0);
    expect(has(m, "att_enrich_cache_lookups_total")).toBe(true);

    expect(sum(m, "att_drift_windows_total")).toBe(Math.floor(scored.length / 100));
    expect(Number.isFinite(sum(m, "att_drift_anomaly_rate_z"))).toBe(true);
    expect(sum(m, "att_drift_score_psi")).toBeGreaterThanOrEqual(0);
    expect(m.filter((s) => s.name === "att_drift_feature_psi")).toHaveLength(names.length);
    expect([0, 1]).toContain(sum(m, "att_drift_alarm"));
    expect(sum(m, "att_drift_findings_total")).toBe(driftFindings.length);
    expect(sum(m, "att_drift_training_anomaly_rate")).toBeCloseTo(
      stage.model.card.training!.anomaly_rate!,
      12,
    );

    expect(m.find((s) => s.name === "att_process_resident_memory_bytes")?.labels.stage).toBe("score");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it("carries the ingest, enrichment and score metrics of a run from a node to the findings topic", async () => {
    // A chain with token traffic: a USDC-like token, a mint and eight transfers, one block each.
    const a = anvil.get();
    const { signer } = await connectAnvil(a.httpUrl);
    const usdc = await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 });
    await (await usdc.mint(await signer.getAddress(), 10n ** 12n)).wait();
    for (let i = 1; i <= 8; i++)
      await (
        await usdc.transfer(`0x${(0xbeef00 + i).toString(16).padStart(40, "0")}`, 1_000_000n * BigInt(i))
      ).wait();
    const tokenTxs = 9;
    const head = Number(await a.rpc<string>("eth_blockNumber"));

    // ingest (in-process, from block 1: a backfill), then score with in-process enrichment workers.
    const t = await ingestTopics();
    const ingest = startIngester(ingestOptions(a, t, { fromBlock: 1 }));
    const findings = await createTestTopic("findings", 2);
    const dlq = await createTestTopic("dlq", 1);
    const group = uniqueName("score");
    const config = loadConfig(
      scoreEnv({
        transfers: t.transfers,
        findings,
        dlq,
        group,
        prefix: testPrefix("e2e"),
        extra: { ATT_RPC_HTTP_URL: a.httpUrl, ATT_CHAIN_ID: "31337", ATT_LOG_LEVEL: "warn" },
      }),
    );
    const logger = createLogger({ level: "warn" });
    const scoreRegistry = createMetricsRegistry("score");
    const stage = await createScoreStage({ config, logger, registry: scoreRegistry });
    onTestFinished(() => stage.stop());
    const servers = await Promise.all(
      [ingest.registry, scoreRegistry].map((registry) =>
        startHealthServer({ registry, port: 0, host: "127.0.0.1", logger }),
      ),
    );
    for (const s of servers) onTestFinished(() => s.close());
    const scrape = async (i: number) =>
      parseExposition(await (await fetch(`http://127.0.0.1:${servers[i]!.port}/metrics`)).text());
    await stage.start();

    const out = (await readTopic(findings, tokenTxs)).map((m) => parseFinding(m.value!));
    expect(out).toHaveLength(tokenTxs);
    await expect
      .poll(async () => sum(await scrape(1), "att_score_findings_total"), { timeout: 15_000 })
      .toBe(tokenTxs);

    await expect
      .poll(async () => sum(await scrape(0), "att_ingest_blocks_published_total"), { timeout: 15_000 })
      .toBe(head);
    const im = await scrape(0);
    expect(sum(im, "att_ingest_transactions_published_total")).toBe(tokenTxs);
    expect(sum(im, "att_ingest_transfers_published_total")).toBe(tokenTxs);
    expect(sum(im, "att_ingest_published_block")).toBe(head);
    expect(sum(im, "att_ingest_head_block")).toBeGreaterThanOrEqual(head);
    expect(sum(im, "att_ingest_blocks_behind_head")).toBe(sum(im, "att_ingest_head_block") - head);
    expect(sum(im, "att_ingest_blocks_published_total")).toBe(head);
    expect(sum(im, "att_ingest_backfill_blocks_total")).toBeGreaterThan(0);
    expect(sum(im, "att_ingest_reorgs_total")).toBe(0);
    expect(sum(im, "att_ingest_role", { role: "active" })).toBe(1);

    const sm = await scrape(1);
    expect(sum(sm, "att_score_findings_total", { alert_id: "INVALID-TOKEN-TRANSFERS-TX" })).toBe(
      out.filter((f) => f.alertId === "INVALID-TOKEN-TRANSFERS-TX").length,
    );
    // Enriched from the node through the queue: token metadata by eth_call, first transaction by otterscan.
    expect(sum(sm, "att_enrich_api_calls_total", { provider: "rpc", outcome: "ok" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sum(sm, "att_enrich_api_calls_total", { provider: "otterscan", outcome: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    // Ingest writes in Kafka transactions: each partition ends with a commit marker, which takes
    // an offset that the score group never commits (no data to process), so the gauge settles at
    // ≤ 1 per partition rather than 0.
    await expect
      .poll(async () => sum(await scrape(1), "att_score_consumer_lag"), { timeout: 15_000 })
      .toBeLessThanOrEqual(3);
    expect(sum(sm, "att_score_e2e_latency_seconds_count")).toBe(tokenTxs);
  });
});
