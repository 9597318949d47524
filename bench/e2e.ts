/**
 * End-to-end throughput and latency of the score stage: a pre-filled transfers topic → `att
 * score` child processes (features with a warm enrichment cache, one model call per batch,
 * findings and offsets in one Kafka transaction) → committed findings.
 *
 *   baseline      a plain kafkajs consumer group reading the same topic, no processing
 *   1 process     one `att score`: from its group join until the group's committed offsets
 *                 reach the topic's high watermarks; start-up (spawn → join) reported apart
 *   2 processes   the same with two replicas in one group (clock from the first join)
 *   latency       one `att score` under a steady --rate tx/s (default 200) with fresh observedAt
 *                 stamps: observedAt → finding seen by a read_committed consumer, p50/p95/p99
 *
 * Traffic: synthetic TokenTransferTx (test/helpers/transfers.ts) from --senders senders, the
 * Redis enrichment cache seeded for every token and sender under a unique ATT_REDIS_PREFIX.
 * Tuning comes from the environment and is reported: ATT_SCORE_BATCH_MAX,
 * ATT_SCORE_PARTITIONS_CONCURRENTLY, ATT_FINDINGS_NORMAL, ATT_SCORE_MAX_BYTES(_PER_PARTITION)…
 *
 * Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/e2e.ts [--quick] [--transactions 200000] [--partitions 6] [--processes 1,2]
 *     [--rate 200] [--latency-seconds 30] [--senders 5000] [--dist] [--profile | --no-profile]
 * --quick: 20,000 transactions and 10 s of latency. --dist runs `node dist/cli.js score` (after
 * `npm run build`). --profile adds a `node --cpu-prof` run of one process and reports its top
 * self-time functions (a full run does this by itself when the one-process goal is missed).
 * Progress on stderr, a table on stdout, results in bench/results/e2e.json.
 */
import { existsSync, rmSync } from "node:fs";
import { Redis } from "ioredis";
import { loadConfig } from "../src/kernel/config/index.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../test/helpers/transfers.js";
import { parseArgs } from "./lib/args.js";
import { profilesIn, summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { steadyLatency } from "./lib/e2e/latency.js";
import { freePort, scrapeBatchBreakdown, type BatchBreakdown } from "./lib/e2e/metrics.js";
import { JOINED, REDIS_URL, scorerEnv, spawnScorer, type ScorerTarget } from "./lib/e2e/scorers.js";
import { rawConsume, runScorers, type ScorerRunResult } from "./lib/e2e/throughput.js";
import { sampleFindings } from "./lib/findings.js";
import { benchKafka, createTopics, highWatermarks, produceAll, uniqueName } from "./lib/kafka.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { deleteKeys } from "./lib/redis.js";
import { finishReport, startReport, withBaseline, type BenchResult } from "./lib/results.js";
import { createRssSampler, readRss } from "./lib/rss.js";
import { stackReachable } from "./lib/stack.js";
import { fmt, fmtRatio, textTable } from "./lib/table.js";

const args = parseArgs();
const QUICK = args.quick;
const N = args.num("transactions", QUICK ? 20_000 : 200_000);
const PARTITIONS = args.num("partitions", 6);
const PROCESSES = (args.list("processes").length ? args.list("processes") : ["1", "2"]).map(Number);
const RATE = args.num("rate", 200);
const LATENCY_S = args.num("latency-seconds", QUICK ? 10 : 30);
const WARMUP_S = args.num("warmup-seconds", 3);
const SENDERS = args.num("senders", 5000);
const DIST = args.has("dist");
const PROFILE: "yes" | "no" | "auto" = args.has("profile")
  ? "yes"
  : args.has("no-profile") || QUICK
    ? "no"
    : "auto";
const GOAL_TX_S = 10_000;
const GOAL_P99_MS = 250;

const progress = createProgress("e2e", 6 + (PROFILE === "no" ? 0 : 1));
const report = startReport(
  "e2e",
  "End to end: transfers topic → att score → committed findings",
  `npx tsx bench/e2e.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

async function main(): Promise<void> {
  const up = await stackReachable();
  if (!up.kafka || !up.redis) {
    console.error(
      "bench/e2e: Kafka or Redis not reachable; start the local stack: deploy/local/stack.sh start",
    );
    process.exit(2);
  }
  if (DIST && !existsSync(`${REPO}dist/cli.js`)) {
    console.error("bench/e2e: --dist needs dist/cli.js: run `npm run build` first");
    process.exit(2);
  }
  const tag = uniqueName("bench-e2e");
  const redisPrefix = tag;
  const topics = {
    transfers: `${tag}-transfers`,
    findings1: `${tag}-findings-1`,
    findings2: `${tag}-findings-2`,
    latTransfers: `${tag}-lat-transfers`,
    latFindings: `${tag}-lat-findings`,
    dlq: `${tag}-dlq`,
  };
  const target = (group: string, transfers: string, findings: string): ScorerTarget => ({
    transfers,
    findings,
    dlq: topics.dlq,
    group,
    redisPrefix,
  });
  const effective = loadConfig({
    ...process.env,
    ...scorerEnv(target("g", topics.transfers, topics.findings1)),
  });
  const s = effective.score;
  Object.assign(report.settings, {
    transactions: N,
    partitions: PARTITIONS,
    senders: SENDERS,
    scorer: DIST ? "node dist/cli.js score" : "node --import tsx src/cli.ts score",
    ATT_SCORE_BATCH_MAX: s.batchMaxSize,
    ATT_SCORE_PARTITIONS_CONCURRENTLY: s.partitionsConcurrently,
    ATT_FINDINGS_NORMAL: s.normalFindings,
    ATT_SCORE_MAX_BYTES_PER_PARTITION: s.maxBytesPerPartition,
    ATT_SCORE_MAX_BYTES: s.maxBytes,
    ATT_SCORE_EXPLAIN_NORMAL: s.explainNormal,
    ATT_MODEL_INTRA_OP_THREADS: effective.model.intraOpThreads,
    latency_rate_tx_s: RATE,
    latency_seconds: LATENCY_S,
    latency_warmup_seconds: WARMUP_S,
  });

  const kafka = benchKafka("att-bench-e2e");
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const redis = new Redis(REDIS_URL);
  const rss = createRssSampler();
  const cleanup = async () => {
    rss.stop();
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: Object.values(topics), timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteKeys(redis, `${redisPrefix}*`).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  };

  try {
    // 1. Traffic and a warm enrichment cache.
    progress.phase(`generating ${N.toLocaleString("en-US")} transactions, seeding the enrichment cache`);
    const txs = syntheticTxs(N, { seed: 1001, senders: SENDERS });
    const latTxs = syntheticTxs(Math.ceil(RATE * (LATENCY_S + WARMUP_S)) + RATE, {
      seed: 1002,
      senders: SENDERS,
    });
    await seedEnrichmentCache(redis, redisPrefix, [...txs, ...latTxs]);

    // 2. The pre-filled topic.
    progress.phase(`producing them to a ${PARTITIONS}-partition topic`);
    await createTopics(admin, [
      { topic: topics.transfers, partitions: PARTITIONS },
      { topic: topics.findings1, partitions: PARTITIONS },
      { topic: topics.findings2, partitions: PARTITIONS },
      { topic: topics.latTransfers, partitions: PARTITIONS },
      { topic: topics.latFindings, partitions: PARTITIONS },
      { topic: topics.dlq, partitions: 1 },
    ]);
    const t0 = performance.now();
    await produceAll(producer, topics.transfers, toKafkaMessages(txs), (n) =>
      progress.update(`${n.toLocaleString("en-US")} / ${N.toLocaleString("en-US")}`),
    );
    const produceS = (performance.now() - t0) / 1000;
    const high = await highWatermarks(admin, topics.transfers);
    const total = [...high.values()].reduce((a, b) => a + b, 0n);
    if (total !== BigInt(N)) throw new Error(`topic holds ${total} messages, expected ${N}`);
    progress.note(`produced in ${fmt(produceS)} s (${fmt(N / produceS)} tx/s)`);

    // 3. Baseline.
    progress.phase("baseline: raw kafkajs consume of the topic (no processing)");
    const raw = await rawConsume(kafka, topics.transfers, high, {
      maxBytesPerPartition: s.maxBytesPerPartition,
      maxBytes: s.maxBytes,
      partitionsConcurrently: s.partitionsConcurrently,
      progress,
    });
    progress.note(`raw consume: ${fmt(raw.txPerS)} tx/s (${fmt(raw.seconds)} s)`);
    const baseline = { name: "raw kafkajs consume", value: raw.txPerS };

    // 4-5. One and two scorer processes.
    const runs: ScorerRunResult[] = [];
    for (const k of PROCESSES) {
      progress.phase(`${k} × att score over the pre-filled topic`);
      const findings = k === PROCESSES[0] ? topics.findings1 : topics.findings2;
      const r = await runScorers(
        admin,
        target(uniqueName(`bench-e2e-p${k}`), topics.transfers, findings),
        total,
        {
          processes: k,
          dist: DIST,
          progress,
          rss,
          label: `e2e-score-p${k}`,
        },
      );
      runs.push(r);
      progress.note(
        `${k} process${k > 1 ? "es" : ""}: ${fmt(r.txPerS)} tx/s (${fmt(r.seconds)} s from first join; start-up ${r.startupMs.map((m) => fmt(m / 1000)).join(", ")} s)`,
      );
    }
    const sample = await sampleFindings(kafka, topics.findings1, 2000);
    const written = [...(await highWatermarks(admin, topics.findings1)).values()].reduce((a, b) => a + b, 0n);

    // 6. Latency under steady traffic.
    progress.phase(`latency: ${RATE} tx/s for ${LATENCY_S} s (+${WARMUP_S} s warm-up) through one att score`);
    const latGroup = uniqueName("bench-e2e-lat");
    const latPort = await freePort();
    const latScorer = spawnScorer(
      "e2e-score-latency",
      target(latGroup, topics.latTransfers, topics.latFindings),
      {
        dist: DIST,
        metricsPort: latPort,
      },
    );
    rss.watch(latScorer.pid, "e2e-score-latency");
    let lat;
    let latBatches: BatchBreakdown | undefined;
    try {
      await latScorer.waitFor(JOINED, 180_000);
      lat = await steadyLatency({
        kafka,
        producer,
        transfers: topics.latTransfers,
        findings: topics.latFindings,
        txs: latTxs,
        rate: RATE,
        seconds: LATENCY_S,
        warmupS: WARMUP_S,
        progress,
      });
      latBatches = await scrapeBatchBreakdown(latPort);
    } finally {
      rss.unwatch(latScorer.pid);
      await latScorer.stop("SIGTERM", 30_000);
    }
    progress.note(
      `latency p50 ${fmt(lat.ms.p50)} ms, p95 ${fmt(lat.ms.p95)} ms, p99 ${fmt(lat.ms.p99)} ms (${lat.received} findings, ${lat.missing} missing)`,
    );

    // 7. Where the time goes.
    const one = runs.find((r) => r.processes === 1);
    let profile: ProfileSummary | undefined;
    if (PROFILE === "yes" || (PROFILE === "auto" && one && one.txPerS < GOAL_TX_S)) {
      progress.phase("profile: one att score under node --cpu-prof over the same topic");
      const dir = `${REPO}.local/bench/cpu-prof/${tag}`;
      rmSync(dir, { recursive: true, force: true });
      const pr = await runScorers(
        admin,
        target(uniqueName("bench-e2e-prof"), topics.transfers, topics.findings2),
        total,
        {
          processes: 1,
          dist: DIST,
          progress,
          rss,
          label: "e2e-score-profiled",
          cpuProfDir: dir,
        },
      );
      const file = profilesIn(dir)[0];
      if (file) {
        profile = summarizeProfile(file, 20);
        progress.note(`profiled run: ${fmt(pr.txPerS)} tx/s; profile ${profile.file}`);
      } else progress.note(`profiled run wrote no .cpuprofile in ${dir}`);
    }

    // Results.
    const results: BenchResult[] = [];
    results.push({ name: "baseline: raw kafkajs consume (no processing)", value: raw.txPerS, unit: "tx/s" });
    for (const r of runs) {
      results.push({
        ...withBaseline(
          {
            name: `${r.processes} × att score: transfers → committed findings`,
            value: r.txPerS,
            unit: "tx/s",
          },
          baseline,
        ),
        ...(r.processes === 1 ? { goal: `>= ${GOAL_TX_S}`, met: r.txPerS >= GOAL_TX_S } : {}),
      });
    }
    if (runs.length === 2 && runs[0]!.txPerS > 0)
      results.push({
        ...withBaseline(
          {
            name: `scaling: ${runs[1]!.processes} processes vs ${runs[0]!.processes}`,
            value: runs[1]!.txPerS,
            unit: "tx/s",
          },
          { name: `${runs[0]!.processes} process`, value: runs[0]!.txPerS },
        ),
      });
    for (const r of runs)
      results.push({
        name: `${r.processes} × att score: start-up (spawn → group join), slowest`,
        value: Math.max(...r.startupMs) / 1000,
        unit: "s",
      });
    for (const [p, v] of [
      ["p50", lat.ms.p50],
      ["p95", lat.ms.p95],
      ["p99", lat.ms.p99],
    ] as const)
      results.push({
        name: `latency ${p} at ${RATE} tx/s (observedAt → committed finding)`,
        value: v,
        unit: "ms",
        ...(p === "p99" ? { goal: `< ${GOAL_P99_MS}`, met: v < GOAL_P99_MS } : {}),
      });
    results.push({ name: `latency: achieved send rate`, value: lat.sentPerS, unit: "tx/s" });
    report.results = results;
    const peaks = rss.peaks();
    report.memory = [
      ...runs.flatMap((r) =>
        r.peakRssMiB.map((m, i) => ({
          process: `att score (${r.processes}-process run, #${i + 1})`,
          peakRssMiB: m,
        })),
      ),
      ...peaks
        .filter((p) => p.label === "e2e-score-latency")
        .map((p) => ({ process: "att score (latency run)", peakRssMiB: p.peakMiB })),
      {
        process: "bench/e2e.ts (driver: traffic, baseline consumer, reader)",
        peakRssMiB: readRss()?.peakMiB ?? NaN,
      },
    ];
    const byAlert = sample.reduce<Record<string, number>>(
      (acc, f) => ((acc[f] = (acc[f] ?? 0) + 1), acc),
      {},
    );
    report.notes.push(
      `${written.toLocaleString("en-US")} records on the findings topic of the 1-process run for ${N.toLocaleString("en-US")} transactions; alert ids of the first ${sample.length}: ${Object.entries(
        byAlert,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}.`,
      `Produce of the pre-filled topic: ${fmt(N / produceS)} tx/s. Raw consume joined its group in ${fmt(raw.joinMs / 1000)} s.`,
      `Latency: ${lat.sent} transactions measured (${lat.warmup.sent} warm-up, p99 ${fmt(lat.warmup.ms.p99)} ms), ${lat.missing} never seen committed within 60 s.`,
    );
    const breakdown = (label: string, b: BatchBreakdown | undefined) =>
      b
        ? `${label}: ${fmt(b.batches)} batches of ${fmt(b.meanBatchSize)} transactions on average; per batch ${fmt(b.featureMs)} ms features (enrichment included), ${fmt(b.modelMs)} ms model, ${fmt(b.commitMs)} ms Kafka transaction.`
        : `${label}: no metrics scraped.`;
    for (const r of runs)
      r.batches.forEach((b, i) => report.notes.push(breakdown(`${r.processes}-process run, #${i + 1}`, b)));
    report.notes.push(breakdown("Latency run", latBatches));
    if (byAlert["INVALID-TOKEN-TRANSFERS-TX"])
      report.notes.push(
        "Some findings were INVALID: the enrichment cache was not warm for every transaction.",
      );
    report.details = {
      raw,
      runs,
      latency: lat,
      produceSeconds: produceS,
      findingsSample: byAlert,
      ...(profile ? { profile } : {}),
    };

    const path = finishReport(report);
    console.log("");
    console.log(
      textTable(
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
    console.log(
      textTable(
        ["process", "peak RSS MiB"],
        report.memory.map((m) => [m.process, fmt(m.peakRssMiB)]),
      ),
    );
    if (profile) {
      console.log(
        `\nTop self time of the profiled att score (${profile.file}, ${profile.totalMs - profile.idleMs} ms busy):`,
      );
      console.log(
        textTable(
          ["function", "self ms", "share"],
          profile.topFunctions.map((f) => [f.frame, fmt(f.ms), `${fmt(f.share * 100)}%`]),
        ),
      );
      console.log("");
      console.log(
        textTable(
          ["area", "self ms", "share"],
          profile.byArea.map((f) => [f.frame, fmt(f.ms), `${fmt(f.share * 100)}%`]),
        ),
      );
    }
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    await cleanup();
  }
}

await main();
