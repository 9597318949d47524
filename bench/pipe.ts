/**
 * The write path against its ceiling (issue 18): `att score` beside a bare kafkajs transactional
 * pipe that reads the same topic and writes records of the same size with the same producer
 * settings, in the same run; then where att score's CPU goes.
 *
 *   rounds    --rounds (3) interleaved rounds over one pre-filled transfers topic, the order
 *             rotated each round: att score (this checkout), the bare pipe (bench/lib/e2e/
 *             bare-pipe.ts: plain kafkajs, one fixed value of the mean size of att score's
 *             findings per input message), and with --baseline-repo att score of another
 *             checkout (a `git worktree` of an older commit: the before/after in one run).
 *             Each: a fresh group, from its join until its committed offsets reach the end.
 *             The figure is the median over rounds of att score / bare pipe.
 *   profile   one att score under `node --cpu-prof --trace-gc-nvp` (and the baseline's): CPU per
 *             transaction by area of the work (bench/lib/cpuprofile.ts areaBreakdown), V8 heap
 *             bytes allocated and GC pause per transaction.
 *
 * Findings are checked unchanged by the findings' own tests (test/sink-serialize.test.ts compares
 * the write path with the reference builder byte for byte); this bench reports the sizes.
 *
 * Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/pipe.ts [--quick] [--transactions 200000] [--partitions 6] [--rounds 3]
 *     [--senders 5000] [--baseline-repo /tmp/old-checkout/] [--no-profile]
 * --quick: 20,000 transactions, 1 round. Tuning from the environment as for bench/e2e.ts
 * (ATT_SCORE_BATCH_MAX, ATT_FINDINGS_COMPRESSION…). Results in bench/results/pipe.json.
 */
import { readFileSync, rmSync } from "node:fs";
import { loadConfig } from "../src/kernel/config/index.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../test/helpers/transfers.js";
import { uniqueName } from "../test/helpers/names.js";
import { closeBenchClients, openBenchClients, requireStack } from "./lib/clients.js";
import { benchArgs } from "./lib/args.js";
import { areaBreakdown, profilesIn } from "./lib/cpuprofile.js";
import { gcTotals, meanValueBytes, readFindings } from "./lib/e2e/corpus.js";
import { scorerEnv, type ScorerOptions, type ScorerTarget } from "./lib/e2e/scorers.js";
import { runScorers, type ScorerRunResult } from "./lib/e2e/throughput.js";
import { createTopics, highWatermarks, produceAll } from "./lib/kafka.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { finishReport, startReport, type BenchResult } from "./lib/results.js";
import { benchTable, fmt, fmtRatio } from "./lib/table.js";

const args = benchArgs({
  transactions: "string",
  partitions: "string",
  rounds: "string",
  senders: "string",
  "baseline-repo": "string",
  "no-profile": "boolean",
});
const QUICK = args.quick;
const N = args.num("transactions", QUICK ? 20_000 : 200_000);
const PARTITIONS = args.num("partitions", 6);
const ROUNDS = args.num("rounds", QUICK ? 1 : 3);
const SENDERS = args.num("senders", 5000);
const BASE_REPO = args.str("baseline-repo")?.replace(/\/?$/, "/");
const PROFILE = !args.has("no-profile");

type Variant = "att score" | "bare pipe" | "att score (baseline)";
const VARIANTS: Variant[] = [
  "att score",
  "bare pipe",
  ...(BASE_REPO ? ["att score (baseline)" as const] : []),
];

const progress = createProgress("pipe", 2 + ROUNDS + (PROFILE ? 1 : 0));
const report = startReport(
  "pipe",
  "Write path: att score against a bare kafkajs transactional pipe",
  `npx tsx bench/pipe.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  await requireStack("pipe");
  const tag = uniqueName("bench-pipe");
  const transfers = `${tag}-transfers`;
  const dlq = `${tag}-dlq`;
  const outputs: string[] = [];
  const target = (group: string, findings: string): ScorerTarget => ({
    transfers,
    findings,
    dlq,
    group,
    redisPrefix: tag,
  });
  const effective = loadConfig({ ...process.env, ...scorerEnv(target("g", dlq)) });
  const s = effective.score;
  Object.assign(report.settings, {
    transactions: N,
    partitions: PARTITIONS,
    rounds: ROUNDS,
    senders: SENDERS,
    baseline_repo: BASE_REPO ?? "(none)",
    ATT_SCORE_BATCH_MAX: s.batchMaxSize,
    ATT_SCORE_PARTITIONS_CONCURRENTLY: s.partitionsConcurrently,
    ATT_FINDINGS_COMPRESSION: effective.kafka.findingsCompression,
  });

  const clients = await openBenchClients("att-bench-pipe");
  const { kafka, admin, producer, redis, rss } = clients;
  try {
    progress.phase(`generating ${N.toLocaleString("en-US")} transactions, seeding the enrichment cache`);
    const txs = syntheticTxs(N, { seed: 1801, senders: SENDERS });
    await seedEnrichmentCache(redis, tag, txs);
    progress.phase(`producing them to a ${PARTITIONS}-partition topic`);
    await createTopics(admin, [
      { topic: transfers, partitions: PARTITIONS },
      { topic: dlq, partitions: 1 },
    ]);
    await produceAll(producer, transfers, toKafkaMessages(txs), (n) =>
      progress.update(`${n.toLocaleString("en-US")} / ${N.toLocaleString("en-US")}`),
    );
    const high = await highWatermarks(admin, transfers);
    const total = [...high.values()].reduce((a, b) => a + b, 0n);
    if (total !== BigInt(N)) throw new Error(`topic holds ${total} messages, expected ${N}`);

    let recordBytes = 0;
    let keyBytes = 0;
    const runs: { round: number; variant: Variant; run: ScorerRunResult }[] = [];
    const run = async (round: number, variant: Variant, o: Partial<ScorerOptions> = {}) => {
      const findings = `${tag}-out-r${round}-${variant === "bare pipe" ? "bare" : variant === "att score" ? "att" : "base"}`;
      outputs.push(findings);
      await createTopics(admin, [{ topic: findings, partitions: PARTITIONS }]);
      const scorer: ScorerOptions = {
        dist: false,
        ...(variant === "att score (baseline)" ? { repo: BASE_REPO! } : {}),
        ...(variant === "bare pipe"
          ? {
              bare: {
                recordBytes,
                batchMax: s.batchMaxSize,
                partitionsConcurrently: s.partitionsConcurrently,
                maxBytesPerPartition: s.maxBytesPerPartition,
                maxBytes: s.maxBytes,
                compression: effective.kafka.findingsCompression,
              },
            }
          : {}),
        ...o,
      };
      const r = await runScorers(admin, target(uniqueName(`bench-pipe-r${round}`), findings), total, {
        ...scorer,
        processes: 1,
        progress,
        rss,
        label: `pipe-${variant.replace(/[^a-z]+/g, "-")}-r${round}`,
      });
      progress.note(`round ${round}, ${variant}: ${fmt(r.txPerS)} tx/s (${fmt(r.seconds)} s)`);
      if (variant === "att score" && recordBytes === 0) {
        const sample = await readFindings(kafka, findings, 2000);
        recordBytes = Math.round(meanValueBytes(sample));
        keyBytes = sample[0]?.key.length ?? 0;
        progress.note(
          `att score's findings: ${recordBytes} B mean value, ${keyBytes} B key (${sample.length} read)`,
        );
      }
      return { r, findings };
    };

    for (let round = 1; round <= ROUNDS; round++) {
      progress.phase(
        `round ${round}/${ROUNDS}: ${VARIANTS.length} runs over ${N.toLocaleString("en-US")} transactions`,
      );
      const k = (round - 1) % VARIANTS.length;
      const order = [...VARIANTS.slice(k), ...VARIANTS.slice(0, k)];
      // The bare pipe copies att score's record size: att score runs before it in the first round.
      if (recordBytes === 0) order.sort((a, b) => (a === "att score" ? -1 : b === "att score" ? 1 : 0));
      for (const variant of order) runs.push({ round, variant, run: (await run(round, variant)).r });
    }

    const rate = (round: number, v: Variant) =>
      runs.find((x) => x.round === round && x.variant === v)?.run.txPerS;
    const rounds = Array.from({ length: ROUNDS }, (_, i) => i + 1);
    const ratios = rounds.map((r) => rate(r, "att score")! / rate(r, "bare pipe")!);
    const results: BenchResult[] = [];
    for (const v of VARIANTS)
      results.push({
        name: `${v}: median tx/s over ${ROUNDS} round${ROUNDS > 1 ? "s" : ""} (${rounds.map((r) => fmt(rate(r, v))).join(", ")})`,
        value: median(rounds.map((r) => rate(r, v)!)),
        unit: "tx/s",
      });
    results.push({
      name: "att score / bare pipe (median of per-round ratios)",
      value: median(ratios),
      unit: "×",
      goal: ">= 0.8",
      met: median(ratios) >= 0.8,
      note: `per round: ${ratios.map((x) => fmt(x)).join(", ")}`,
    });
    if (BASE_REPO) {
      const before = rounds.map((r) => rate(r, "att score (baseline)")! / rate(r, "bare pipe")!);
      const gain = rounds.map((r) => rate(r, "att score")! / rate(r, "att score (baseline)")!);
      results.push(
        {
          name: "att score (baseline) / bare pipe (median of per-round ratios)",
          value: median(before),
          unit: "×",
          note: `per round: ${before.map((x) => fmt(x)).join(", ")}`,
        },
        {
          name: "att score / att score (baseline), same rounds (median)",
          value: median(gain),
          unit: "×",
          note: `per round: ${gain.map((x) => fmt(x)).join(", ")}`,
        },
      );
    }
    for (const v of VARIANTS) {
      const cpu = rounds.map((r) => {
        const x = runs.find((y) => y.round === r && y.variant === v)!.run;
        return ((x.cpu[0]?.seconds ?? NaN) / N) * 1e6;
      });
      results.push({
        name: `${v}: CPU per transaction of its process (median)`,
        value: median(cpu),
        unit: "µs",
      });
    }
    results.push({ name: "record value size (att score's mean finding)", value: recordBytes, unit: "B" });

    // Where att score's CPU goes, and what it allocates.
    const profiles: {
      variant: Variant;
      busyUsPerTx: number;
      areas: { area: string; usPerTx: number }[];
      gc: ReturnType<typeof gcTotals>;
    }[] = [];
    if (PROFILE) {
      progress.phase("profile: att score under node --cpu-prof --trace-gc-nvp");
      for (const v of VARIANTS.filter((x) => x !== "bare pipe")) {
        const dir = `${REPO}.local/bench/cpu-prof/${tag}-${v === "att score" ? "att" : "base"}`;
        rmSync(dir, { recursive: true, force: true });
        const { r } = await run(0, v, { cpuProfDir: dir, traceGc: true });
        const file = profilesIn(dir)[0];
        if (!file) {
          progress.note(`${v}: no .cpuprofile in ${dir}`);
          continue;
        }
        const b = areaBreakdown(file);
        const gc = gcTotals(readFileSync(r.logFiles[0]!, "utf8"));
        profiles.push({
          variant: v,
          busyUsPerTx: (b.busyMs * 1000) / N,
          areas: b.areas.map((a) => ({ area: a.area, usPerTx: (a.ms * 1000) / N })),
          gc,
        });
      }
      for (const p of profiles) {
        results.push(
          {
            name: `${p.variant}: V8 heap allocated per transaction (--trace-gc-nvp)`,
            value: p.gc.allocatedBytes / N / 1024,
            unit: "KiB",
          },
          { name: `${p.variant}: GC pause per transaction`, value: (p.gc.pauseMs * 1000) / N, unit: "µs" },
        );
      }
    }
    report.results = results;
    report.memory = [
      { process: "att score / bare pipe", peakRssMiB: Math.max(...runs.flatMap((x) => x.run.peakRssMiB)) },
    ];
    const areas = [...new Set(profiles.flatMap((p) => p.areas.map((a) => a.area)))];
    const areaRows = areas.map((a) => [
      a,
      ...profiles.map((p) => fmt(p.areas.find((x) => x.area === a)?.usPerTx ?? 0)),
    ]);
    areaRows.push(["total busy", ...profiles.map((p) => fmt(p.busyUsPerTx))]);
    if (profiles.length)
      report.notes.push(
        `CPU per transaction by area, µs (one profiled run each over the same topic): ${profiles
          .map(
            (p) =>
              `${p.variant}: ${p.areas
                .slice(0, 8)
                .map((a) => `${a.area} ${fmt(a.usPerTx)}`)
                .join("; ")}; busy ${fmt(p.busyUsPerTx)}`,
          )
          .join(" | ")}.`,
      );
    report.notes.push(
      `The bare pipe writes a ${recordBytes} B value with a ${keyBytes > 0 ? 66 : 0} B key and the alert-id header per input message (att score's mean finding: ${recordBytes} B, key ${keyBytes} B), plain kafkajs 2.2.4 without this project's patches, with att score's codec (${effective.kafka.findingsCompression}).`,
    );
    report.details = { runs, profiles };
    const path = finishReport(report);
    console.log("");
    console.log(
      benchTable(
        ["figure", "value", "unit", "goal", "note"],
        results.map((r) => [
          r.name,
          fmt(r.value),
          r.unit,
          r.goal ? `${r.goal} ${r.met ? "met" : "MISSED"}` : "",
          r.note ?? fmtRatio(r.ratio),
        ]),
      ),
    );
    if (profiles.length) {
      console.log("");
      console.log(benchTable(["area (µs per transaction)", ...profiles.map((p) => p.variant)], areaRows));
    }
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    await closeBenchClients(clients, [transfers, dlq, ...outputs], tag);
  }
}

await main();
