/**
 * Per-core scaling of the score stage: 1, 2, 3, 4 `att score` processes in one group, each in its
 * own cgroup capped at the same CPU (--cap, default 0.3 CPU), over a pre-filled 12-partition
 * topic. Capping each process makes the steps comparable on a shared 2-core machine: what a
 * step adds is one more capped process, so efficiency = tx/s(k) / (k × tx/s(1)) shows what the
 * design costs when it scales (group coordination, the broker), not how many idle cores the
 * machine happened to have.
 *
 *   rate       from the moment the group has settled (every process joined, the 12 partitions
 *              split between them) until k × --window transactions more are committed
 *   CPU        per step, from /proc/<pid>/stat over the same window: each att score process
 *              (≤ the cap), the Kafka broker (pid from .local/run/kafka.pid, else found by its
 *              command line) and Redis — the broker is not capped: it is what the processes share
 *   bound      the first step whose efficiency falls below 0.9 is named, with what the broker
 *              and the machine used there; if none does, the step at which the machine's cores
 *              would run out (k × cap + broker and Redis CPU per tx/s × the rate) is named
 *
 * Needs a writable cgroup v1 CPU controller (/sys/fs/cgroup/cpu, as root); skips with a message
 * otherwise. Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/scaling.ts [--quick] [--processes 1,2,3,4] [--cap 0.3] [--partitions 12] [--window 20000]
 * --quick: --window 8000. Progress on stderr, a table and a text chart on stdout, results in
 * bench/results/scaling.json, the plot in bench/results/scaling.svg (quick: .local/bench/quick/).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import { sleep } from "../src/kernel/shutdown.js";
import { stackReachable } from "../src/tools/demo/stack.js";
import type { Child } from "../test/helpers/child-process.js";
import { kafkajsClient } from "../test/helpers/kafka-clients.js";
import { uniqueName } from "../test/helpers/names.js";
import { KAFKA_BROKERS, REDIS_URL } from "../test/helpers/services.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../test/helpers/transfers.js";
import { benchArgs } from "./lib/args.js";
import { cpuCapUnavailable, createCpuCap, type CpuCap } from "./lib/cgroup.js";
import { cpuMeter, findPids } from "./lib/cpu.js";
import { spawnScorer, type ScorerTarget } from "./lib/e2e/scorers.js";
import { committedTotal, createTopics, produceAll } from "./lib/kafka.js";
import { load } from "./lib/machine.js";
import { lineChartSvg } from "./lib/plot.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { deleteKeys } from "./lib/redis.js";
import { finishReport, RESULTS_DIR, startReport, withBaseline } from "./lib/results.js";
import { benchTable, fmt } from "./lib/table.js";

const args = benchArgs({ processes: "string", cap: "string", partitions: "string", window: "string" });
const QUICK = args.quick;
const STEPS = (args.list("processes").length ? args.list("processes") : ["1", "2", "3", "4"]).map(Number);
const CAP = args.num("cap", 0.3);
const PARTITIONS = args.num("partitions", 12);
const WINDOW = args.num("window", QUICK ? 8000 : 20_000);
const EFFICIENCY_GOAL = 0.9;
const PLOT = QUICK ? `${REPO}.local/bench/quick/scaling.svg` : `${RESULTS_DIR}scaling.svg`;

const progress = createProgress("scaling", 2 + STEPS.length);
const report = startReport(
  "scaling",
  `Scaling: 1–${Math.max(...STEPS)} att score processes, each capped at ${CAP} CPU`,
  `npx tsx bench/scaling.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

interface Step {
  processes: number;
  txPerS: number;
  efficiency: number;
  /**
   * The same per CPU second the att score processes actually got: tx/s per att score CPU at k
   * over that at 1. Equals `efficiency` when every process gets its cap; on a machine too busy
   * to give them the cap it still shows what scaling costs per unit of work.
   */
  efficiencyPerCpu: number;
  windowS: number;
  /** CPU used over the window divided by its length: per att score process, the broker, Redis. */
  scorerCpu: number[];
  brokerCpu: number;
  redisCpu: number;
  load: [number, number, number];
}

/** The local stack's broker: its pid file (deploy/local/stack.sh), else by command line. */
function brokerPid(): number | undefined {
  const file = `${REPO}.local/run/kafka.pid`;
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (pid > 0 && existsSync(`/proc/${pid}/stat`)) return pid;
  }
  return findPids(/kafka\.Kafka /)[0];
}

async function main(): Promise<void> {
  const unavailable = cpuCapUnavailable();
  if (unavailable) {
    const msg = `bench/scaling: skipped: ${unavailable}; the steps need one CPU cap per process`;
    console.log(msg);
    report.notes.push(msg);
    finishReport(report);
    return;
  }
  const up = await stackReachable(KAFKA_BROKERS, REDIS_URL);
  if (!up.kafka || !up.redis) {
    console.error(
      "bench/scaling: Kafka or Redis not reachable; start the local stack: deploy/local/stack.sh start",
    );
    process.exit(2);
  }
  const broker = brokerPid();
  const redisPid = findPids(/^redis-server /)[0];
  const tag = uniqueName("bench-scaling");
  const kafka = kafkajsClient({ clientId: "att-bench-scaling" });
  const admin = kafka.admin();
  await admin.connect();
  const redis = new Redis(REDIS_URL);
  const transfers = `${tag}-transfers`;
  const findings = STEPS.map((k) => `${tag}-findings-p${k}`);
  const dlq = `${tag}-dlq`;
  const caps: CpuCap[] = [];
  const steps: Step[] = [];
  try {
    // Enough for the biggest step's window, plus what the first process commits while the
    // others start (start-up runs under the cap too).
    const n = Math.max(...STEPS) * WINDOW + 80_000;
    progress.phase(`producing ${n.toLocaleString("en-US")} transactions to a ${PARTITIONS}-partition topic`);
    const txs = syntheticTxs(n, { seed: 1819, senders: 5000 });
    await seedEnrichmentCache(redis, tag, txs);
    await createTopics(admin, [
      { topic: transfers, partitions: PARTITIONS },
      ...findings.map((topic) => ({ topic, partitions: PARTITIONS })),
      { topic: dlq, partitions: 1 },
    ]);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await produceAll(producer, transfers, toKafkaMessages(txs), (k) =>
      progress.update(`${k.toLocaleString("en-US")} / ${n.toLocaleString("en-US")}`),
    );
    await producer.disconnect();

    for (const [i, k] of STEPS.entries()) {
      progress.phase(`${k} × att score, each capped at ${CAP} CPU`);
      const target: ScorerTarget = {
        transfers,
        findings: findings[i]!,
        dlq,
        group: uniqueName(`bench-scaling-p${k}`),
        redisPrefix: tag,
      };
      const scorers: Child[] = [];
      try {
        for (let j = 0; j < k; j++) {
          const cap = createCpuCap(`${tag}-p${k}-${j}`, CAP);
          caps.push(cap);
          const s = spawnScorer(`scaling-p${k}-${j + 1}`, target, { dist: false });
          cap.add(s.pid!);
          scorers.push(s);
        }
        steps.push(await measureStep(k, scorers, target, BigInt(n)));
        const st = steps.at(-1)!;
        progress.note(
          `${k} process${k > 1 ? "es" : ""}: ${fmt(st.txPerS)} tx/s, efficiency ${fmt(st.efficiency)}, broker ${fmt(st.brokerCpu)} CPU, att score ${st.scorerCpu.map((c) => fmt(c)).join(" / ")} CPU`,
        );
      } finally {
        await Promise.all(scorers.map((s) => s.stop("SIGTERM", 30_000)));
      }
    }
    summarize(steps);
    const path = finishReport(report);
    mkdirSync(PLOT.slice(0, PLOT.lastIndexOf("/")), { recursive: true });
    writeFileSync(PLOT, plot(steps));
    print(steps);
    console.log(`\nwritten ${path.replace(REPO, "")} and ${PLOT.replace(REPO, "")}`);
  } finally {
    for (const c of caps) c.remove();
    await admin
      .deleteTopics({ topics: [transfers, ...findings, dlq], timeout: 30_000 })
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteKeys(redis, `${tag}*`).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }

  async function measureStep(
    k: number,
    scorers: Child[],
    target: ScorerTarget,
    total: bigint,
  ): Promise<Step> {
    // Settled: every process's latest assignment, together, owns each partition once.
    const settled = () => {
      const owned = scorers.map((s) => {
        const lines = s
          .output()
          .split("\n")
          .filter((l) => l.includes('"Joined consumer group"'));
        const last = lines.at(-1);
        return last
          ? ((JSON.parse(last) as { assignment: Record<string, number[]> }).assignment[target.transfers] ??
              [])
          : undefined;
      });
      if (owned.some((o) => o === undefined)) return false;
      const all = owned.flat() as number[];
      return all.length === PARTITIONS && new Set(all).size === PARTITIONS;
    };
    const until = performance.now() + 300_000;
    while (!settled()) {
      const dead = scorers.find((s) => s.child.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited with ${dead.child.exitCode} (log: ${dead.logFile})`);
      if (performance.now() > until) throw new Error(`the ${k} processes did not settle in 300 s`);
      progress.update("waiting for every process to join and the partitions to be split");
      await sleep(100);
    }
    // A few seconds more, so that the first step's process has warmed up (JIT) like the others.
    await sleep(3000);
    const meter = cpuMeter([
      ...scorers.map((s, j) => ({ label: `att score #${j + 1}`, pid: s.pid! })),
      ...(broker ? [{ label: "Kafka broker", pid: broker }] : []),
      ...(redisPid ? [{ label: "Redis", pid: redisPid }] : []),
    ]);
    meter.start();
    const c0 = await committedTotal(admin, target.group, target.transfers);
    const t0 = performance.now();
    const goal = c0 + BigInt(k * WINDOW) < total ? c0 + BigInt(k * WINDOW) : total;
    let c = c0;
    while (c < goal) {
      await sleep(200);
      c = await committedTotal(admin, target.group, target.transfers);
      const dead = scorers.find((s) => s.child.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited with ${dead.child.exitCode} (log: ${dead.logFile})`);
      const s = (performance.now() - t0) / 1000;
      progress.update(
        `${(c - c0).toLocaleString("en-US")} / ${(goal - c0).toLocaleString("en-US")} committed, ${fmt(Number(c - c0) / s)} tx/s`,
      );
    }
    const windowS = (performance.now() - t0) / 1000;
    const cpu = meter.stop();
    const txPerS = Number(c - c0) / windowS;
    const one = steps.find((s) => s.processes === 1);
    const per = (label: string) => (cpu.find((x) => x.label === label)?.seconds ?? Number.NaN) / windowS;
    const scorerCpu = scorers.map((_, j) => per(`att score #${j + 1}`));
    const perCpu = txPerS / scorerCpu.reduce((a, b) => a + b, 0);
    const onePerCpu = one ? one.txPerS / one.scorerCpu[0]! : perCpu;
    return {
      processes: k,
      txPerS,
      efficiency: one ? txPerS / (k * one.txPerS) : k === 1 ? 1 : Number.NaN,
      efficiencyPerCpu: perCpu / onePerCpu,
      windowS,
      scorerCpu,
      brokerCpu: per("Kafka broker"),
      redisCpu: per("Redis"),
      load: load(),
    };
  }
}

/** Whether every process of a step got (nearly) its cap: otherwise the machine, not the design, limited it. */
const gotCap = (s: Step) => Math.min(...s.scorerCpu) >= 0.9 * CAP;

/**
 * The step at which the broker becomes the bound (see the header): measured, when a step whose
 * processes got their cap fell below the efficiency goal; else predicted from the broker's and
 * Redis's CPU per transaction, with each process at its cap doing what one process did per CPU
 * second. A step whose processes did not get their cap (a machine busy with other work) names
 * the machine, not the broker.
 */
function boundStep(steps: Step[]): { step: number; measured: boolean; why: string } {
  const nproc = report.machine.nproc;
  const low = steps.find((s) => s.processes > 1 && s.efficiency < EFFICIENCY_GOAL && gotCap(s));
  if (low) {
    const used = low.scorerCpu.reduce((a, b) => a + b, 0) + low.brokerCpu + low.redisCpu;
    return {
      step: low.processes,
      measured: true,
      why: `efficiency ${fmt(low.efficiency)} < ${EFFICIENCY_GOAL} at ${low.processes} processes with every process at its cap: broker ${fmt(low.brokerCpu)} CPU, att score + broker + Redis ${fmt(used)} of ${nproc} CPUs`,
    };
  }
  const perTx = steps.reduce((a, s) => a + (s.brokerCpu + s.redisCpu) / s.txPerS, 0) / steps.length;
  const first = steps[0]!;
  const perCpu = first.txPerS / first.scorerCpu.reduce((a, b) => a + b, 0);
  const ratePerProcess = CAP * perCpu;
  const fits = (k: number) => k * CAP + perTx * k * ratePerProcess <= nproc;
  let k = 1;
  while (fits(k + 1) && k < 1000) k++;
  const starved = steps.filter((s) => !gotCap(s));
  return {
    step: k + 1,
    measured: false,
    why:
      `at ${fmt(perTx * 1000)} broker+Redis CPU per 1,000 tx/s and ${fmt(ratePerProcess)} tx/s per process at its cap, ${k + 1} processes (${fmt((k + 1) * CAP)} CPU capped + ${fmt(perTx * (k + 1) * ratePerProcess)} broker and Redis) no longer fit ${nproc} CPUs` +
      (starved.length
        ? `; at ${starved.map((s) => s.processes).join(", ")} processes the machine could not give every process its ${CAP} CPU (load ${starved.map((s) => s.load[0]).join(", ")}): there the machine's other work was the bound, so efficiency per CPU second is the figure to read`
        : ""),
  };
}

function summarize(steps: Step[]): void {
  Object.assign(report.settings, {
    cap_cpu_per_process: CAP,
    partitions: PARTITIONS,
    window_tx_per_process: WINDOW,
    steps: STEPS.join(", "),
    cgroup: "v1 cpu.cfs_quota_us / cpu.cfs_period_us (100 ms), one group per process",
  });
  const one = steps.find((s) => s.processes === 1);
  const bound = boundStep(steps);
  for (const s of steps) {
    const below = s.processes < bound.step || !bound.measured;
    report.results.push(
      withBaseline(
        {
          name: `${s.processes} process${s.processes > 1 ? "es" : ""} × ${CAP} CPU`,
          value: s.txPerS,
          unit: "tx/s",
          ...(s.processes > 1 && below && gotCap(s)
            ? { goal: `efficiency >= ${EFFICIENCY_GOAL}`, met: s.efficiency >= EFFICIENCY_GOAL }
            : {}),
          note: `efficiency ${fmt(s.efficiency)} (per att score CPU second ${fmt(s.efficiencyPerCpu)}); broker ${fmt(s.brokerCpu)} CPU, Redis ${fmt(s.redisCpu)}, att score ${s.scorerCpu.map((c) => fmt(c)).join("/")} CPU; load ${s.load.join(" ")}`,
        },
        one && s.processes > 1
          ? { name: `${s.processes} × one process`, value: s.processes * one.txPerS }
          : undefined,
      ),
    );
    if (s.processes > 1)
      report.results.push({
        name: `${s.processes} processes: efficiency per att score CPU second`,
        value: s.efficiencyPerCpu,
        unit: "×",
        ...(below ? { goal: `>= ${EFFICIENCY_GOAL}`, met: s.efficiencyPerCpu >= EFFICIENCY_GOAL } : {}),
        note: gotCap(s)
          ? "every process got its cap"
          : `the processes got ${s.scorerCpu.map((c) => fmt(c)).join("/")} of their ${CAP} CPU cap (machine busy)`,
      });
    report.results.push({
      name: `${s.processes} process${s.processes > 1 ? "es" : ""}: broker CPU`,
      value: s.brokerCpu,
      unit: "CPU",
    });
  }
  report.notes.push(
    `Bound: ${bound.measured ? "measured" : "predicted"} at ${bound.step} processes — ${bound.why}.`,
    `![scaling plot](${PLOT.replace(REPO, "")})`,
    `Each att score process runs in its own cgroup capped at ${CAP} CPU; the broker and Redis are not capped. Load average at the steps: ${steps.map((s) => s.load[0]).join(", ")} (2 cores shared by other agents: a step whose processes could not get their cap shows as lower efficiency; compare the att score CPU column with the cap).`,
  );
  report.details = { steps, bound };
}

function plot(steps: Step[]): string {
  const one = steps.find((s) => s.processes === 1);
  return lineChartSvg({
    title: `att score scaling, each process capped at ${CAP} CPU (${PARTITIONS} partitions)`,
    xLabel: "att score processes",
    yLabel: "committed tx/s",
    series: [
      {
        name: "measured",
        color: "#1f77b4",
        points: steps.map((s) => ({
          x: s.processes,
          y: s.txPerS,
          label: `eff ${fmt(s.efficiency)}, broker ${fmt(s.brokerCpu)} CPU`,
        })),
      },
      ...(one
        ? [
            {
              name: "k × 1 process",
              color: "#999",
              dashed: true,
              points: steps.map((s) => ({ x: s.processes, y: s.processes * one.txPerS })),
            },
          ]
        : []),
    ],
  });
}

function print(steps: Step[]): void {
  console.log(
    benchTable(
      [
        "processes",
        "tx/s",
        "efficiency",
        "per CPU s",
        "att score CPU each",
        "broker CPU",
        "Redis CPU",
        "load 1m",
      ],
      steps.map((s) => [
        String(s.processes),
        fmt(s.txPerS),
        fmt(s.efficiency),
        fmt(s.efficiencyPerCpu),
        s.scorerCpu.map((c) => fmt(c)).join(" / "),
        fmt(s.brokerCpu),
        fmt(s.redisCpu),
        fmt(s.load[0]),
      ]),
    ),
  );
  const max = Math.max(...steps.map((s) => s.txPerS));
  for (const s of steps)
    console.log(
      `${String(s.processes).padStart(2)} | ${"#".repeat(Math.round((s.txPerS / max) * 50)).padEnd(50)} ${fmt(s.txPerS)} tx/s`,
    );
  const b = boundStep(steps);
  console.log(`bound: ${b.measured ? "measured" : "predicted"} at ${b.step} processes — ${b.why}`);
}

await main();
