/**
 * Failover of the score stage under a steady stream: how long the partitions of a replica stall
 * when a replica joins, leaves with SIGTERM, or dies with SIGKILL.
 *
 *   steady        --rate tx/s (default 500: two replicas must keep up with it on a busy 2-core
 *                 machine, or the stalls measure a backlog) round-robin over --partitions (default 6) input
 *                 partitions, fresh observedAt stamps; a read_committed reader of the findings
 *                 topic stamps every finding and maps it back to its input partition
 *   replicas      two `att score` in one group; then a third joins; then that one gets SIGTERM;
 *                 then one of the first two gets SIGKILL
 *   figures       per event: the longest gap between two findings of one input partition (the
 *                 stall) and p50/p99 latency (send → finding read) of the transactions sent
 *                 in the window after the event; baseline: the same figures in a quiet window
 *                 (no event) of the same run
 *   variants      "defaults" (the code's defaults, or what the environment sets), and in a full
 *                 run also "30 s session" (ATT_SCORE_SESSION_TIMEOUT_MS=30000,
 *                 ATT_SCORE_HEARTBEAT_MS=3000: the settings before issue 18) for comparison
 *
 * Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/failover.ts [--quick] [--rate 500] [--partitions 6] [--variants defaults,30s]
 * --quick: the defaults variant only. Progress on stderr, a table on stdout, results in
 * bench/results/failover.json.
 */
import { Redis } from "ioredis";
import { loadConfig } from "../src/kernel/config/index.js";
import { sleep } from "../src/kernel/shutdown.js";
import { stackReachable } from "../src/tools/demo/stack.js";
import type { Child } from "../test/helpers/child-process.js";
import { kafkajsClient } from "../test/helpers/kafka-clients.js";
import { uniqueName } from "../test/helpers/names.js";
import { KAFKA_BROKERS, REDIS_URL } from "../test/helpers/services.js";
import { seedEnrichmentCache, syntheticTxs } from "../test/helpers/transfers.js";
import { benchArgs } from "./lib/args.js";
import { JOINED, spawnScorer, type ScorerTarget } from "./lib/e2e/scorers.js";
import { windowFigures, type WindowFigures } from "./lib/failover/gaps.js";
import { steadyStream } from "./lib/failover/stream.js";
import { createTopics } from "./lib/kafka.js";
import { load } from "./lib/machine.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { deleteKeys } from "./lib/redis.js";
import { finishReport, startReport, withBaseline } from "./lib/results.js";
import { benchTable, fmt } from "./lib/table.js";

const args = benchArgs({ rate: "string", partitions: "string", variants: "string" });
const QUICK = args.quick;
const RATE = args.num("rate", 500);
const PARTITIONS = args.num("partitions", 6);
const VARIANTS: Record<string, Record<string, string>> = {
  defaults: {},
  "30s": { ATT_SCORE_SESSION_TIMEOUT_MS: "30000", ATT_SCORE_HEARTBEAT_MS: "3000" },
};
const chosen = args.list("variants").length
  ? args.list("variants")
  : QUICK
    ? ["defaults"]
    : ["defaults", "30s"];
for (const v of chosen) if (!VARIANTS[v]) throw new Error(`--variants: unknown ${v} (known: defaults, 30s)`);
/** How long the stream runs before the first event, and after a join or SIGTERM. */
const SETTLE_S = 6;
const EVENTS = ["join", "SIGTERM", "SIGKILL"] as const;
type EventName = (typeof EVENTS)[number];
const GOALS: Record<EventName, number> = { join: 1, SIGTERM: 1, SIGKILL: 10 };

const progress = createProgress("failover", 2 + chosen.length);
const report = startReport(
  "failover",
  "Failover: partition stalls around a join, a SIGTERM and a SIGKILL at a steady rate",
  `npx tsx bench/failover.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

interface VariantResult {
  variant: string;
  sessionTimeoutMs: number;
  heartbeatMs: number;
  quiet: WindowFigures;
  events: Record<EventName, WindowFigures>;
  sent: number;
  missing: number;
  duplicates: number;
  loadDuring: [number, number, number];
}

async function main(): Promise<void> {
  const up = await stackReachable(KAFKA_BROKERS, REDIS_URL);
  if (!up.kafka || !up.redis) {
    console.error(
      "bench/failover: Kafka or Redis not reachable; start the local stack: deploy/local/stack.sh start",
    );
    process.exit(2);
  }
  const tag = uniqueName("bench-failover");
  const kafka = kafkajsClient({ clientId: "att-bench-failover" });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const redis = new Redis(REDIS_URL);
  const topics: string[] = [];
  const results: VariantResult[] = [];
  try {
    progress.phase("generating transactions, seeding the enrichment cache");
    // The stream sends these in a loop, each time under a new hash.
    const txs = syntheticTxs(20_000, { seed: 1818, senders: 5000 });
    await seedEnrichmentCache(redis, tag, txs);
    for (const [i, variant] of chosen.entries()) {
      const env = VARIANTS[variant]!;
      const t = defaultsOf(env);
      progress.phase(
        `${variant}: session ${t.sessionTimeoutMs / 1000} s, heartbeat ${t.heartbeatIntervalMs} ms; ${RATE} tx/s over ${PARTITIONS} partitions`,
      );
      const target: ScorerTarget = {
        transfers: `${tag}-${i}-transfers`,
        findings: `${tag}-${i}-findings`,
        dlq: `${tag}-${i}-dlq`,
        group: `${tag}-${i}`,
        redisPrefix: tag,
      };
      topics.push(target.transfers, target.findings, target.dlq);
      await createTopics(admin, [
        { topic: target.transfers, partitions: PARTITIONS },
        { topic: target.findings, partitions: PARTITIONS },
        { topic: target.dlq, partitions: 1 },
      ]);
      results.push(await runVariant(variant, env, target, txs, t));
    }
    summarize(results);
    const path = finishReport(report);
    print(results);
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteKeys(redis, `${tag}*`).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }

  async function runVariant(
    variant: string,
    env: Record<string, string>,
    target: ScorerTarget,
    txs: ReturnType<typeof syntheticTxs>,
    t: { sessionTimeoutMs: number; heartbeatIntervalMs: number },
  ): Promise<VariantResult> {
    const kafkaClient = kafkajsClient({ clientId: `att-bench-failover-${variant}` });
    const stream = await steadyStream({
      kafka: kafkaClient,
      producer,
      transfers: target.transfers,
      findings: target.findings,
      partitions: PARTITIONS,
      txs,
      rate: RATE,
    });
    const spawned: Child[] = [];
    const spawn = (name: string) => {
      const c = spawnScorer(`failover-${variant}-${name}`, target, { dist: false, env });
      spawned.push(c);
      return c;
    };
    const status = (what: string) =>
      progress.update(
        `${what}: ${stream.sent().toLocaleString("en-US")} sent, ${stream.arrivals.length.toLocaleString("en-US")} findings read`,
      );
    const wait = async (seconds: number, what: string) => {
      const until = performance.now() + seconds * 1000;
      while (performance.now() < until) {
        status(what);
        await sleep(250);
      }
    };
    try {
      const a = spawn("a");
      const b = spawn("b");
      await Promise.all([a.waitFor(JOINED, 180_000), b.waitFor(JOINED, 180_000)]);
      stream.start();
      await wait(SETTLE_S, "warm-up (two replicas)");
      const quietFrom = Date.now();
      await wait(5, "quiet window");
      const marks: { event: EventName; at: number }[] = [];
      const quietTo = Date.now();

      marks.push({ event: "join", at: Date.now() });
      const c = spawn("c");
      await c.waitFor(JOINED, 180_000);
      await wait(SETTLE_S, "after the join");

      marks.push({ event: "SIGTERM", at: Date.now() });
      const code = await c.stop("SIGTERM", 30_000);
      if (code !== 0) progress.note(`the SIGTERMed replica exited with ${code} (log: ${c.logFile})`);
      await wait(SETTLE_S, "after the SIGTERM");

      marks.push({ event: "SIGKILL", at: Date.now() });
      b.child.kill("SIGKILL");
      await wait(t.sessionTimeoutMs / 1000 + 10, "after the SIGKILL");
      await stream.stop();
      await stream.drain(60_000, (m) => progress.update(`draining: ${m} findings to come`));

      const events = {} as Record<EventName, WindowFigures>;
      for (const [k, m] of marks.entries()) {
        // The last window runs until the drain ends: its stall may end after the stream stopped.
        const to = marks[k + 1]?.at ?? Infinity;
        // Transactions sent in the last 2 s before the next event are stuck behind that one.
        events[m.event] = windowFigures(stream.arrivals, PARTITIONS, m.at, to, to - 2000);
        const e = events[m.event];
        progress.note(
          `${variant} ${m.event}: longest gap ${fmt(e.longestGapS)} s (partition ${e.partition}), p99 ${fmt(e.p99Ms)} ms`,
        );
      }
      return {
        variant,
        sessionTimeoutMs: t.sessionTimeoutMs,
        heartbeatMs: t.heartbeatIntervalMs,
        quiet: windowFigures(stream.arrivals, PARTITIONS, quietFrom, quietTo),
        events,
        sent: stream.sent(),
        missing: stream.missing(),
        duplicates: stream.duplicates(),
        loadDuring: load(),
      };
    } finally {
      await stream.stop().catch(() => undefined);
      await stream.close().catch(() => undefined);
      await Promise.all(spawned.map((s) => s.stop("SIGTERM", 30_000)));
    }
  }
}

/** The group timings an `att score` with `env` on top of ours would use. */
function defaultsOf(env: Record<string, string>) {
  const s = loadConfig({ ...process.env, ...env }).score;
  return { sessionTimeoutMs: s.sessionTimeoutMs, heartbeatIntervalMs: s.heartbeatIntervalMs };
}

function summarize(results: VariantResult[]): void {
  Object.assign(report.settings, {
    rate_tx_s: RATE,
    partitions: PARTITIONS,
    replicas: "2, +1 joins, that one SIGTERM, then one of the first two SIGKILL",
    variants: chosen.join(", "),
  });
  for (const r of results) {
    report.settings[`${r.variant}: ATT_SCORE_SESSION_TIMEOUT_MS`] = r.sessionTimeoutMs;
    report.settings[`${r.variant}: ATT_SCORE_HEARTBEAT_MS`] = r.heartbeatMs;
    const quiet = { name: "quiet window (no event), same run", value: r.quiet.longestGapS };
    for (const ev of EVENTS) {
      const e = r.events[ev];
      const goal = r.variant === "defaults" ? GOALS[ev] : undefined;
      report.results.push(
        withBaseline(
          {
            name: `${r.variant}: ${ev} longest partition stall`,
            value: e.longestGapS,
            unit: "s",
            ...(goal !== undefined ? { goal: `<= ${goal}`, met: e.longestGapS <= goal } : {}),
            note: `partition ${e.partition}; per partition ${e.gapsS.map((g) => fmt(g)).join(" / ")} s`,
          },
          quiet,
        ),
      );
      report.results.push(
        withBaseline(
          {
            name: `${r.variant}: ${ev} p99 latency`,
            value: e.p99Ms,
            unit: "ms",
            note: `p50 ${fmt(e.p50Ms)} ms, max ${fmt(e.maxMs)} ms over ${e.transactions} tx sent in the window`,
          },
          { name: "quiet window p99", value: r.quiet.p99Ms },
        ),
      );
    }
    if (r.quiet.p50Ms > 1000)
      report.notes.push(
        `${r.variant}: the replicas did not keep up with ${RATE} tx/s (quiet-window p50 latency ${fmt(r.quiet.p50Ms / 1000)} s): the stalls include a backlog; run again at a lower --rate or on a quieter machine`,
      );
    if (r.missing > 0 || r.duplicates > 0)
      report.notes.push(
        `${r.variant}: ${r.missing} findings missing after the drain, ${r.duplicates} duplicates`,
      );
  }
  report.notes.push(
    "A stall is the longest time between two findings of one input partition in the window from the event to the next one; the quiet window's is the normal commit cadence.",
    `Load average during the runs: ${results.map((r) => `${r.variant} ${r.loadDuring.join(" / ")}`).join("; ")} (2 cores shared by other agents: absolute seconds drift, the session timeout dominates SIGKILL).`,
  );
  report.details = { variants: results };
}

function print(results: VariantResult[]): void {
  const rows: string[][] = [];
  for (const r of results) {
    rows.push([
      r.variant,
      "quiet",
      fmt(r.quiet.longestGapS),
      "–",
      fmt(r.quiet.p50Ms),
      fmt(r.quiet.p99Ms),
      "–",
    ]);
    for (const ev of EVENTS) {
      const e = r.events[ev];
      const goal = r.variant === "defaults" ? GOALS[ev] : undefined;
      rows.push([
        r.variant,
        ev,
        fmt(e.longestGapS),
        String(e.partition),
        fmt(e.p50Ms),
        fmt(e.p99Ms),
        goal === undefined ? "–" : `<= ${goal} s ${e.longestGapS <= goal ? "met" : "MISSED"}`,
      ]);
    }
  }
  console.log(
    benchTable(["variant", "event", "longest stall s", "partition", "p50 ms", "p99 ms", "goal"], rows),
  );
  for (const r of results)
    console.log(
      `${r.variant}: session ${r.sessionTimeoutMs} ms, heartbeat ${r.heartbeatMs} ms; ${r.sent} sent, ${r.missing} missing, ${r.duplicates} duplicates`,
    );
}

await main();
