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
 *   tuning        (full run, or --tune) one process per setting variant over a smaller topic
 *   profile       (--profile, or a full run that misses the 10,000 tx/s goal) one process under
 *                 `node --cpu-prof`: top self-time functions and areas
 *
 * Traffic: synthetic TokenTransferTx (test/helpers/transfers.ts) from --senders senders, the
 * Redis enrichment cache seeded for every token and sender under a unique ATT_REDIS_PREFIX.
 * Tuning comes from the environment and is reported: ATT_SCORE_BATCH_MAX,
 * ATT_SCORE_PARTITIONS_CONCURRENTLY, ATT_FINDINGS_NORMAL, ATT_SCORE_MAX_BYTES(_PER_PARTITION)…
 *
 * Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/e2e.ts [--quick] [--transactions 200000] [--partitions 6] [--processes 1,2]
 *     [--rate 200] [--latency-seconds 30] [--senders 5000] [--dist] [--tune | --no-tune]
 *     [--tune-transactions 60000] [--profile | --no-profile]
 * --quick: 20,000 transactions, 10 s of latency, no tuning, no profile. --latency-seconds 0
 * skips the latency phase. --dist runs `node dist/cli.js score` (after `npm run build`).
 * Progress on stderr, a table on stdout, results in bench/results/e2e.json.
 */
import { existsSync, rmSync } from "node:fs";
import { loadConfig } from "../src/kernel/config/index.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../test/helpers/transfers.js";
import { closeBenchClients, openBenchClients, requireStack } from "./lib/clients.js";
import { benchArgs } from "./lib/args.js";
import { profilesIn, summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { latencyPhase } from "./lib/e2e/latency.js";
import { GOAL_TX_S, printE2e, summarizeE2e } from "./lib/e2e/summary.js";
import { scorerEnv, type ScorerOptions, type ScorerTarget } from "./lib/e2e/scorers.js";
import { rawConsume, runScorers, type ScorerRunResult } from "./lib/e2e/throughput.js";
import { runTuning, TUNING_VARIANTS } from "./lib/e2e/tuning.js";
import { sampleFindings } from "./lib/findings.js";
import { uniqueName } from "../test/helpers/names.js";
import { createTopics, highWatermarks, produceAll } from "./lib/kafka.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { finishReport, startReport } from "./lib/results.js";
import { fmt } from "./lib/table.js";

const args = benchArgs({
  transactions: "string",
  partitions: "string",
  processes: "string",
  rate: "string",
  "latency-seconds": "string",
  "warmup-seconds": "string",
  senders: "string",
  "tune-transactions": "string",
  dist: "boolean",
  tune: "boolean",
  "no-tune": "boolean",
  profile: "boolean",
  "no-profile": "boolean",
});
const QUICK = args.quick;
const N = args.num("transactions", QUICK ? 20_000 : 200_000);
const PARTITIONS = args.num("partitions", 6);
const PROCESSES = (args.list("processes").length ? args.list("processes") : ["1", "2"]).map(Number);
const RATE = args.num("rate", 200);
const LATENCY_S = args.num("latency-seconds", QUICK ? 10 : 30);
const WARMUP_S = args.num("warmup-seconds", 3);
const SENDERS = args.num("senders", 5000);
const DIST = args.has("dist");
const TUNE = args.has("tune") || (!QUICK && !args.has("no-tune"));
const TUNE_N = Math.min(N, args.num("tune-transactions", QUICK ? 10_000 : 60_000));
const PROFILE = args.has("profile") ? "yes" : args.has("no-profile") || QUICK ? "no" : "auto";

const phases = 3 + PROCESSES.length + (LATENCY_S > 0 ? 1 : 0) + (TUNE ? 1 : 0) + (PROFILE === "no" ? 0 : 1);
const progress = createProgress("e2e", phases);
const report = startReport(
  "e2e",
  "End to end: transfers topic → att score → committed findings",
  `npx tsx bench/e2e.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

async function main(): Promise<void> {
  await requireStack("e2e");
  if (DIST && !existsSync(`${REPO}dist/cli.js`)) {
    console.error("bench/e2e: --dist needs dist/cli.js: run `npm run build` first");
    process.exit(2);
  }
  const tag = uniqueName("bench-e2e");
  const topics = {
    transfers: `${tag}-transfers`,
    findings: PROCESSES.map((k) => `${tag}-findings-p${k}`),
    latTransfers: `${tag}-lat-transfers`,
    latFindings: `${tag}-lat-findings`,
    tuneTransfers: `${tag}-tune-transfers`,
    tuneFindings: `${tag}-tune-findings`,
    dlq: `${tag}-dlq`,
  };
  const target = (group: string, transfers: string, findings: string): ScorerTarget => ({
    transfers,
    findings,
    dlq: topics.dlq,
    group,
    redisPrefix: tag,
  });
  const scorer: ScorerOptions = { dist: DIST };
  const effective = loadConfig({ ...process.env, ...scorerEnv(target("g", topics.transfers, topics.dlq)) });
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

  const clients = await openBenchClients("att-bench-e2e");
  const { kafka, admin, producer, redis, rss } = clients;
  try {
    // 1. Traffic and a warm enrichment cache.
    progress.phase(`generating ${N.toLocaleString("en-US")} transactions, seeding the enrichment cache`);
    const txs = syntheticTxs(N, { seed: 1001, senders: SENDERS });
    const latTxs = syntheticTxs(Math.ceil(RATE * (LATENCY_S + WARMUP_S)) + RATE, {
      seed: 1002,
      senders: SENDERS,
    });
    await seedEnrichmentCache(redis, tag, [...txs, ...latTxs]);

    // 2. The pre-filled topics.
    progress.phase(`producing them to a ${PARTITIONS}-partition topic`);
    await createTopics(admin, [
      { topic: topics.transfers, partitions: PARTITIONS },
      ...topics.findings.map((topic) => ({ topic, partitions: PARTITIONS })),
      { topic: topics.latTransfers, partitions: PARTITIONS },
      { topic: topics.latFindings, partitions: PARTITIONS },
      ...(TUNE
        ? [
            { topic: topics.tuneTransfers, partitions: PARTITIONS },
            { topic: topics.tuneFindings, partitions: PARTITIONS },
          ]
        : []),
      { topic: topics.dlq, partitions: 1 },
    ]);
    const t0 = performance.now();
    await produceAll(producer, topics.transfers, toKafkaMessages(txs), (n) =>
      progress.update(`${n.toLocaleString("en-US")} / ${N.toLocaleString("en-US")}`),
    );
    const produceSeconds = (performance.now() - t0) / 1000;
    if (TUNE) await produceAll(producer, topics.tuneTransfers, toKafkaMessages(txs.slice(0, TUNE_N)));
    const high = await highWatermarks(admin, topics.transfers);
    const total = [...high.values()].reduce((a, b) => a + b, 0n);
    if (total !== BigInt(N)) throw new Error(`topic holds ${total} messages, expected ${N}`);
    progress.note(`produced in ${fmt(produceSeconds)} s (${fmt(N / produceSeconds)} tx/s)`);

    // 3. Baseline.
    progress.phase("baseline: raw kafkajs consume of the topic (no processing)");
    const raw = await rawConsume(kafka, topics.transfers, high, {
      maxBytesPerPartition: s.maxBytesPerPartition,
      maxBytes: s.maxBytes,
      partitionsConcurrently: s.partitionsConcurrently,
      progress,
    });
    progress.note(`raw consume: ${fmt(raw.txPerS)} tx/s (${fmt(raw.seconds)} s)`);

    // 4-5. One and two scorer processes.
    const runs: ScorerRunResult[] = [];
    for (const [i, k] of PROCESSES.entries()) {
      progress.phase(`${k} × att score over the pre-filled topic`);
      const group = uniqueName(`bench-e2e-p${k}`);
      const r = await runScorers(admin, target(group, topics.transfers, topics.findings[i]!), total, {
        ...scorer,
        processes: k,
        progress,
        rss,
        label: `e2e-score-p${k}`,
      });
      runs.push(r);
      progress.note(
        `${k} process${k > 1 ? "es" : ""}: ${fmt(r.txPerS)} tx/s (${fmt(r.seconds)} s from first join; start-up ${r.startupMs.map((m) => fmt(m / 1000)).join(", ")} s)`,
      );
    }
    const sample = topics.findings[0] ? await sampleFindings(kafka, topics.findings[0], 2000) : [];

    // 6. Latency under steady traffic.
    let latency;
    if (LATENCY_S > 0) {
      progress.phase(
        `latency: ${RATE} tx/s for ${LATENCY_S} s (+${WARMUP_S} s warm-up) through one att score`,
      );
      latency = await latencyPhase({
        kafka,
        producer,
        target: target(uniqueName("bench-e2e-lat"), topics.latTransfers, topics.latFindings),
        txs: latTxs,
        rate: RATE,
        seconds: LATENCY_S,
        warmupS: WARMUP_S,
        scorer,
        rss,
        progress,
        partitions: PARTITIONS,
      });
      const l = latency.latency;
      progress.note(
        `latency p50 ${fmt(l.ms.p50)} ms, p95 ${fmt(l.ms.p95)} ms, p99 ${fmt(l.ms.p99)} ms (${l.received} findings, ${l.missing} missing); ` +
          `one Kafka hop p50 ${fmt(latency.baseline.ms.p50)} ms, p99 ${fmt(latency.baseline.ms.p99)} ms`,
      );
    }

    // 7. What the knobs buy.
    let tuning;
    if (TUNE) {
      progress.phase(
        `tuning: one att score per setting over ${TUNE_N.toLocaleString("en-US")} transactions (${TUNING_VARIANTS.length} variants)`,
      );
      tuning = await runTuning(
        admin,
        (group) => target(group, topics.tuneTransfers, topics.tuneFindings),
        BigInt(TUNE_N),
        { scorer, variants: TUNING_VARIANTS, progress, rss },
      );
    }

    // 8. Where the time goes.
    const one = runs.find((r) => r.processes === 1);
    let profile: ProfileSummary | undefined;
    if (PROFILE === "yes" || (PROFILE === "auto" && one && one.txPerS < GOAL_TX_S)) {
      progress.phase("profile: one att score under node --cpu-prof over the same topic");
      const dir = `${REPO}.local/bench/cpu-prof/${tag}`;
      rmSync(dir, { recursive: true, force: true });
      const findings = topics.findings[topics.findings.length - 1] ?? topics.dlq;
      const pr = await runScorers(
        admin,
        target(uniqueName("bench-e2e-prof"), topics.transfers, findings),
        total,
        {
          ...scorer,
          cpuProfDir: dir,
          processes: 1,
          progress,
          rss,
          label: "e2e-score-profiled",
        },
      );
      const file = profilesIn(dir)[0];
      if (file) {
        profile = summarizeProfile(file, 20);
        progress.note(`profiled run: ${fmt(pr.txPerS)} tx/s; profile ${profile.file}`);
      } else progress.note(`profiled run wrote no .cpuprofile in ${dir}`);
    }

    summarizeE2e(report, { n: N, raw, runs, latency, tuning, profile, sample, produceSeconds, rss });
    const path = finishReport(report);
    printE2e(report, profile);
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    const all = [
      topics.transfers,
      ...topics.findings,
      topics.latTransfers,
      topics.latFindings,
      topics.dlq,
      ...(TUNE ? [topics.tuneTransfers, topics.tuneFindings] : []),
    ];
    await closeBenchClients(clients, all, tag);
  }
}

await main();
