/**
 * `npm run bench`: every benchmark of the project on the local stack, one after the other, as
 * child processes (`npx tsx bench/<file> [--quick]`), each writing bench/results/<name>.json.
 * Collects their figures into one table (each beside a baseline measured in the same run),
 * with the date, the machine (nproc, CPU model, RAM, Node) and the load average, and the peak
 * RSS of every process each benchmark started.
 *
 *   npm run bench                     full run (~15 min) → BENCHMARKS.md + bench/results/run.json
 *   npm run bench -- --quick          smoke run (a few minutes) → .local/bench/quick/ (BENCHMARKS.md,
 *                                     run.json, each benchmark's JSON); bench/results is left as it was
 *   npm run bench -- --only e2e,enrichment     --skip scoring     --wait-quiet 600
 *   npm run bench -- --update --only scoring   re-run some, replace them in run.json and BENCHMARKS.md
 *   npm run bench -- --render-only    BENCHMARKS.md again from bench/results/run.json (+ analysis.md)
 *   npm run bench -- --adopt pipe,failover    take bench/results/<name>.json of a standalone run
 *                                     (`npx tsx bench/<name>.ts`) into run.json and BENCHMARKS.md
 *
 * Starts the local stack (deploy/local/stack.sh start) when Kafka or Redis do not answer. A
 * benchmark whose script does not exist yet gets a "not built yet" line; one that fails gets its
 * exit code and log file, and the others still run. Progress on stderr; the table on stdout.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { benchArgs } from "./lib/args.js";
import { describeMachine, load, machineLine } from "./lib/machine.js";
import { spawnChild } from "../test/helpers/child-process.js";
import { BENCH_LOG_DIR, REPO, track } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { readJson, RESULTS_DIR } from "./lib/results.js";
import { createRssSampler, type PeakRss } from "./lib/rss.js";
import { discoverBenches, type BenchSpec } from "./lib/run/benches.js";
import { normalize } from "./lib/run/normalize.js";
import {
  renderMarkdown,
  renderText,
  type BenchOutcome,
  type ProcessPeak,
  type RunSummary,
} from "./lib/run/render.js";
import { ensureBuild } from "./lib/run/build.js";
import { sleep } from "../src/kernel/shutdown.js";
import { ensureStack } from "../src/tools/demo/stack.js";
import { KAFKA_BROKERS, REDIS_URL } from "../test/helpers/services.js";
import { fmt } from "./lib/table.js";

const args = benchArgs({
  only: "string",
  skip: "string",
  update: "boolean",
  "render-only": "boolean",
  "wait-quiet": "string",
  adopt: "string",
});
const QUICK = args.quick;
const only = new Set(args.list("only"));
const skip = new Set(args.list("skip"));
const UPDATE = args.has("update");
const BENCHES = discoverBenches(`${REPO}bench/`);
const progress = createProgress("bench", BENCHES.length);
/** Where --quick puts its outputs (bench/results keeps the last full run's). */
const QUICK_DIR = `${REPO}.local/bench/quick/`;

/** What a process of a benchmark's tree is, or undefined for wrappers (npx, the tsx launcher, sh). */
function labelOf(p: PeakRss, spec: BenchSpec): string | undefined {
  const c = p.command;
  if (/(^|\/)(npm|npx)( |$)|npm-cli\.js|npx-cli\.js|npm exec/.test(c)) return undefined;
  if (/node_modules\/\.bin\/tsx |tsx\/dist\/cli\.m?js/.test(c)) return undefined;
  if (/^(\/bin\/)?(ba)?sh /.test(c)) return undefined;
  if (/esbuild/.test(c)) return undefined; // tsx's transpiler service
  if (/(src\/cli\.ts|dist\/cli\.js) score/.test(c)) return "att score";
  if (/(src\/cli\.ts|dist\/cli\.js) (\w+)/.test(c))
    return `att ${/(src\/cli\.ts|dist\/cli\.js) (\w+)/.exec(c)![2]}`;
  if (c.includes(`bench/${spec.file}`)) return `bench/${spec.file} (driver)`;
  if (/python/.test(c)) return "python (scikit-learn)";
  if (/anvil/.test(c)) return "anvil";
  const bin = c.split(" ")[0]?.split("/").pop() ?? "?";
  return bin === "node" ? `node ${c.split(" ").slice(1, 3).join(" ").replace(REPO, "")}` : bin;
}

function groupPeaks(peaks: PeakRss[], spec: BenchSpec): ProcessPeak[] {
  const by = new Map<string, ProcessPeak>();
  for (const p of peaks) {
    const label = labelOf(p, spec);
    if (!label) continue;
    const cur = by.get(label);
    if (cur) {
      cur.count += 1;
      cur.peakMiB = Math.max(cur.peakMiB, p.peakMiB);
    } else by.set(label, { label, count: 1, peakMiB: p.peakMiB });
  }
  return [...by.values()].sort((a, b) => b.peakMiB - a.peakMiB);
}

async function runBench(spec: BenchSpec): Promise<BenchOutcome> {
  const path = `${REPO}bench/${spec.file}`;
  if ((only.size && !only.has(spec.name)) || skip.has(spec.name))
    return { spec, status: "skipped", processes: [] };
  if (!existsSync(path)) {
    progress.phase(`${spec.name}: not built yet (bench/${spec.file} does not exist) — skipped`);
    return { spec, status: "not-built", processes: [] };
  }
  const argv = ["tsx", `bench/${spec.file}`, ...(QUICK ? ["--quick"] : [])];
  progress.phase(`${spec.name}: npx ${argv.join(" ")}`);
  const resultFile = `${RESULTS_DIR}${spec.name}.json`;
  // A smoke run's figures are not results: put back what bench/results held before it.
  const before = QUICK && existsSync(resultFile) ? readFileSync(resultFile) : undefined;
  const startedAt = Date.now();
  const loadBefore = load();
  const child = track(
    spawnChild(`run-${spec.name}`, "npx", argv, {
      logDir: BENCH_LOG_DIR,
      echoStderr: true,
      keepOutput: false,
    }),
  );
  const rss = createRssSampler(250);
  rss.watch(child.pid, spec.name, { tree: true });
  // Scripts that print progress on stdout: show their last line as this phase's live status.
  const ticker = setInterval(() => {
    const lines = child.output().trimEnd().split("\n");
    const last = lines[lines.length - 1]?.trim() ?? "";
    progress.update(`${fmt((Date.now() - startedAt) / 1000)} s  ${last.slice(0, 100)}`);
  }, 1000);
  const code = await child.exited;
  clearInterval(ticker);
  rss.stop();
  const seconds = (Date.now() - startedAt) / 1000;
  const base = {
    spec,
    startedAt: new Date(startedAt).toISOString(),
    seconds,
    exitCode: code,
    loadBefore,
    loadAfter: load(),
    logFile: child.logFile.replace(REPO, ""),
    processes: groupPeaks(rss.peaks(), spec),
  };
  const fresh = existsSync(resultFile) && statSync(resultFile).mtimeMs >= startedAt - 1000;
  const result = fresh ? readJson(resultFile) : undefined;
  if (QUICK && fresh) {
    mkdirSync(QUICK_DIR, { recursive: true });
    copyFileSync(resultFile, `${QUICK_DIR}${spec.name}.json`);
    if (before) writeFileSync(resultFile, before);
    else rmSync(resultFile);
  }
  if (code !== 0) {
    const lastLine = child.output().trim().split("\n").pop()?.slice(0, 300) ?? "";
    progress.note(`${spec.name} failed (exit ${code}); its output: ${base.logFile}`);
    return { ...base, status: "failed", message: `exit ${code}: "${lastLine}" (output in ${base.logFile})` };
  }
  if (!fresh) {
    progress.note(`${spec.name} exited 0 but wrote no fresh bench/results/${spec.name}.json`);
    return { ...base, status: "stale", message: `no fresh bench/results/${spec.name}.json` };
  }
  return { ...base, status: "ok", result: normalize(spec.name, result) };
}

async function waitQuiet(maxSeconds: number, nproc: number): Promise<void> {
  const until = Date.now() + maxSeconds * 1000;
  while (load()[0] > nproc && Date.now() < until) {
    progress.update(`waiting for a quieter machine: load ${load().join(" ")} on ${nproc} CPUs`);
    await sleep(5000);
  }
}

function writeOutputs(summary: RunSummary, partial: boolean): string {
  const mdPath = summary.quick
    ? `${QUICK_DIR}BENCHMARKS.md`
    : partial
      ? `${RESULTS_DIR}BENCHMARKS.partial.md`
      : `${REPO}BENCHMARKS.md`;
  const analysisFile = `${RESULTS_DIR}analysis.md`;
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, "utf8") : undefined;
  writeFileSync(mdPath, renderMarkdown(summary, summary.quick || partial ? undefined : analysis));
  return mdPath;
}

/** `--render-only`: BENCHMARKS.md again from bench/results/run.json (after editing analysis.md). */
function renderOnly(): void {
  const file = QUICK ? `${QUICK_DIR}run.json` : `${RESULTS_DIR}run.json`;
  const summary = readJson(file) as RunSummary | undefined;
  if (!summary) throw new Error(`${file} not found: run the benchmarks first`);
  const mdPath = writeOutputs(summary, false);
  console.log(renderText(summary));
  console.log(`\nwritten ${mdPath.replace(REPO, "")} from ${file.replace(REPO, "")}`);
}

/**
 * `--update --only <names>`: the selected benchmarks' entries in bench/results/run.json are
 * replaced by this run's (each section says when it ran) and BENCHMARKS.md is rendered again.
 */
function updateRun(fresh: RunSummary): void {
  const file = `${RESULTS_DIR}run.json`;
  const summary = readJson(file) as RunSummary | undefined;
  if (!summary) throw new Error(`${file} not found: --update needs a full run first`);
  const ran = fresh.benches.filter((b) => b.status !== "skipped");
  // In the current order; a benchmark the full run did not have yet is added.
  summary.benches = BENCHES.map(
    (spec) =>
      ran.find((r) => r.spec.name === spec.name) ??
      summary.benches.find((b) => b.spec.name === spec.name) ?? { spec, status: "skipped", processes: [] },
  );
  summary.notes.push(
    `${ran.map((r) => r.spec.name).join(", ")} re-run on its own at ${fresh.date.replace("T", " ").replace(/\.\d+Z$/, " UTC")} (load ${fresh.loadStart.join(" ")}) with \`${fresh.command}\`.`,
  );
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  const mdPath = writeOutputs(summary, false);
  console.log(renderText(summary));
  console.log(`\nupdated ${file.replace(REPO, "")} and ${mdPath.replace(REPO, "")}`);
  if (ran.some((o) => o.status === "failed" || o.status === "stale")) process.exitCode = 1;
}

/**
 * `--adopt <names>`: results a benchmark wrote when it was run on its own (`npx tsx bench/<file>`,
 * e.g. with options of its own) replace its entry in bench/results/run.json, and BENCHMARKS.md is
 * rendered again; the run's notes say which entries came from standalone runs and how they ran.
 */
function adoptResults(names: string[]): void {
  const file = `${RESULTS_DIR}run.json`;
  const summary = readJson(file) as RunSummary | undefined;
  if (!summary) throw new Error(`${file} not found: --adopt needs a full run first`);
  const adopted = names.map((name): BenchOutcome => {
    const spec = BENCHES.find((b) => b.name === name);
    if (!spec)
      throw new Error(`--adopt ${name}: no such benchmark (known: ${BENCHES.map((b) => b.name).join(", ")})`);
    const raw = readJson(`${RESULTS_DIR}${name}.json`) as
      | {
          command?: string;
          date?: string;
          quick?: boolean;
          seconds?: number;
          load?: Record<string, number[]>;
        }
      | undefined;
    if (!raw)
      throw new Error(
        `--adopt ${name}: bench/results/${name}.json not found: run npx tsx bench/${spec.file} first`,
      );
    if (raw.quick) throw new Error(`--adopt ${name}: bench/results/${name}.json is a --quick run's`);
    const loadOf = (v: number[] | undefined) =>
      v?.length === 3 ? (v as [number, number, number]) : undefined;
    summary.notes.push(
      `${name} ran on its own at ${(raw.date ?? "?").replace("T", " ").replace(/\.\d+Z$/, " UTC")} with \`${raw.command ?? `npx tsx bench/${spec.file}`}\` (load ${loadOf(raw.load?.before)?.join(" ") ?? "?"}); taken in with \`npm run bench -- --adopt ${name}\`.`,
    );
    return {
      spec,
      status: "ok",
      ...(raw.date ? { startedAt: raw.date } : {}),
      ...(raw.seconds !== undefined ? { seconds: raw.seconds } : {}),
      exitCode: 0,
      ...(loadOf(raw.load?.before) ? { loadBefore: loadOf(raw.load?.before)! } : {}),
      ...(loadOf(raw.load?.after) ? { loadAfter: loadOf(raw.load?.after)! } : {}),
      result: normalize(name, raw),
      processes: [],
    };
  });
  summary.benches = BENCHES.map(
    (spec) =>
      adopted.find((a) => a.spec.name === spec.name) ??
      summary.benches.find((b) => b.spec.name === spec.name) ?? { spec, status: "skipped", processes: [] },
  );
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  const mdPath = writeOutputs(summary, false);
  console.log(renderText(summary));
  console.log(`\nupdated ${file.replace(REPO, "")} and ${mdPath.replace(REPO, "")}`);
}

async function main(): Promise<void> {
  if (args.has("render-only")) return renderOnly();
  if (args.has("adopt")) return adoptResults(args.list("adopt"));
  if (UPDATE && (QUICK || only.size === 0)) throw new Error("--update needs --only <names> and no --quick");
  const machine = describeMachine();
  const t0 = Date.now();
  const notes: string[] = [];
  process.stderr.write(`[bench] ${machineLine(machine)}; load ${load().join(" ")}\n`);
  if (args.has("wait-quiet")) await waitQuiet(args.num("wait-quiet", 600), machine.nproc);
  const loadStart = load();
  if (loadStart[0] > machine.nproc * 1.5) {
    const msg = `The machine was busy when the run started (1-minute load ${loadStart[0]} on ${machine.nproc} CPUs): absolute figures are lower than on an idle machine; the ratios against same-run baselines hold better.`;
    notes.push(msg);
    progress.note(`warning: ${msg}`);
  }
  await ensureStack({
    kafkaBrokers: KAFKA_BROKERS,
    redisUrl: REDIS_URL,
    logger: { info: (o: unknown) => progress.note(`local stack: ${JSON.stringify(o)}`) },
  });
  ensureBuild((m) => progress.note(m));
  const outcomes: BenchOutcome[] = [];
  for (const spec of BENCHES) outcomes.push(await runBench(spec));

  const summary: RunSummary = {
    date: new Date(t0).toISOString(),
    quick: QUICK,
    command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    machine,
    loadStart,
    loadEnd: load(),
    seconds: (Date.now() - t0) / 1000,
    notes,
    benches: outcomes,
  };
  if (UPDATE) return updateRun(summary);
  const partial = only.size > 0 || skip.size > 0;
  const jsonPath = QUICK ? `${QUICK_DIR}run.json` : `${RESULTS_DIR}run${partial ? ".partial" : ""}.json`;
  mkdirSync(QUICK ? QUICK_DIR : RESULTS_DIR, { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(summary, null, 2)}\n`);
  const mdPath = writeOutputs(summary, partial);
  console.log(renderText(summary));
  console.log(`\nwritten ${mdPath.replace(REPO, "")} and ${jsonPath.replace(REPO, "")}`);
  const failed = outcomes.filter((o) => o.status === "failed" || o.status === "stale");
  if (failed.length) {
    console.log(
      `\n${failed.length} benchmark(s) failed: ${failed.map((f) => `${f.spec.name} (${f.message})`).join("; ")}`,
    );
    process.exitCode = 1;
  }
}

await main();
