/**
 * Scoring engine benchmark: throughput, single-row latency, explanation cost and event-loop
 * stalls of the TypeScript engine, against scikit-learn and skl2onnx measured in the same run.
 *
 *   engine     model.scoreBatch(): row checks + the compact model.onnx (one TreeEnsembleRegressor)
 *              in onnxruntime-node, what the score stage calls
 *   compact    the same model.onnx through a bare InferenceSession.run (model time only);
 *              compact-2t the same with two intra-op threads
 *   skl2onnx   skl2onnx's own conversion of the same forest (2,700 nodes), bare session.run,
 *              same session options
 *   sklearn    IsolationForest.score_samples in Python (the card's model, refit from its training
 *              rows with its seed; the bench checks the refit scores equal the model folder's)
 *
 * Rows: 20,000 synthetic feature rows calibrated to the ATT training marginals (a seed the
 * model was not trained on). Batch sizes 1, 32, 256, 4096; each measured for --seconds.
 *
 * Reproduce (needs model-tools/.venv; created with model-tools/setup.sh when missing):
 *   npx tsx bench/scoring.ts [--seconds 1.5] [--model models/registry/<version>]
 * Progress on stderr, a table on stdout, results in bench/results/scoring.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Tensor, type InferenceSession } from "onnxruntime-node";
import { loadConfig } from "../src/kernel/config/index.js";
import { readFeatureRows } from "../src/model/csv.js";
import { sha256 } from "../src/model/files.js";
import { parseForest } from "../src/model/forest.js";
import { loadModel, modelSettingsFromConfig, type Model } from "../src/model/index.js";
import { ensureVenv, resolveToolsDir } from "../src/model/python-tools.js";
import { createSession, DEFAULT_SESSION_SETTINGS, type SessionSettings } from "../src/model/session.js";
import { treeShapAlgorithm2 } from "../test/helpers/tree-shap-reference.js";
import { benchArgs } from "./lib/args.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const args = benchArgs({ seconds: "string", rounds: "string", model: "string" });
const SECONDS = args.num("seconds", 2);
/** Each measurement is split into rounds, interleaved between the variants; the median round counts. */
const ROUNDS = args.num("rounds", 5);
const SIZES = [1, 32, 256, 4096];
const BENCH_ROWS = 20_000;
const SINGLE_CALLS = 2_000;
const EXPLAIN_ROWS = 2_000;

let step = 0;
const progress = (msg: string) => process.stderr.write(`[scoring ${String(++step).padStart(2)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Python side: rows, the training CSV, the skl2onnx graph, and scikit-learn's timings.

function py(python: string, args: string[], what: string): string {
  const r = spawnSync(python, args, {
    cwd: REPO,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status})`);
  return r.stdout;
}

interface Card {
  version: string;
  features: string[];
  source: {
    kind: string;
    input?: string;
    input_sha256?: string;
    input_generated_by?: { rows: number; seed: number };
  };
}

/** The card's training rows: the recorded file if its hash matches, else regenerated (same seed) into `tmp`. */
function trainingCsv(python: string, card: Card, tmp: string): string {
  const recorded = card.source.input && resolve(REPO, card.source.input);
  if (recorded && existsSync(recorded) && sha256(readFileSync(recorded)) === card.source.input_sha256)
    return recorded;
  const gen = card.source.input_generated_by;
  if (!gen) throw new Error(`cannot find or regenerate the training rows of model ${card.version}`);
  const out = join(tmp, "training.csv");
  py(
    python,
    [
      "-m",
      "att_model",
      "generate-synthetic",
      "--out",
      out,
      "--rows",
      String(gen.rows),
      "--seed",
      String(gen.seed),
    ],
    "generate-synthetic (training rows)",
  );
  return out;
}

const SKLEARN_TIMER = String.raw`
import json, sys, time
import numpy as np
from att_model import data
from att_model.cli import fit_isolation_forest, load_model_dir

model_dir, train_csv, rows_csv = sys.argv[1:4]
seconds, sizes, single_n, rounds = float(sys.argv[4]), [int(s) for s in sys.argv[5].split(",")], int(sys.argv[6]), int(sys.argv[7])
doc, forest = load_model_dir(model_dir)
p = doc["source"]["params"]
X = data.read_matrix(train_csv, doc["features"])
model = fit_isolation_forest(X, n_estimators=p["n_estimators"], max_samples=p["max_samples"], random_state=p["random_state"], max_features=p["max_features"])
R = data.read_matrix(rows_csv, doc["features"]).astype(np.float32)
sk = -model.score_samples(R)
out = {"refit_vs_model_folder_max_abs_diff": float(np.abs(sk - forest.score(R)).max()), "scores": sk.tolist(), "throughput": {}}
for B in sizes:
    print(f"[sklearn] batch {B} ...", file=sys.stderr, flush=True)
    per_round = []
    calls = 0
    for _ in range(rounds):
        n = i = c = 0
        t0 = time.perf_counter()
        while True:
            if i + B > len(R):
                i = 0
            model.score_samples(R[i:i + B])
            n += B; i += B; c += 1
            el = time.perf_counter() - t0
            if el >= seconds / rounds and c >= 2:
                break
        per_round.append(n / el)
        calls += c
    rps = float(np.median(per_round))
    out["throughput"][str(B)] = {"rows_per_s": rps, "calls": calls, "call_ms": B / rps * 1e3, "rounds": per_round}
print(f"[sklearn] {single_n} single-row calls ...", file=sys.stderr, flush=True)
lat = []
for k in range(single_n):
    r = R[k % len(R):k % len(R) + 1]
    t0 = time.perf_counter()
    model.score_samples(r)
    lat.append(time.perf_counter() - t0)
out["single"] = {"p50_us": float(np.percentile(lat, 50) * 1e6), "p99_us": float(np.percentile(lat, 99) * 1e6)}
print(json.dumps(out))
`;

interface SklearnResult {
  refit_vs_model_folder_max_abs_diff: number;
  scores: number[];
  throughput: Record<string, { rows_per_s: number; calls: number; call_ms: number }>;
  single: { p50_us: number; p99_us: number };
}

// ---------------------------------------------------------------------------------------------
// TypeScript side.

interface Throughput {
  rowsPerS: number;
  calls: number;
  /** Duration of one call (= how long it blocks the event loop), ms. */
  callMs: { p50: number; p99: number; max: number };
  /** Event-loop delay seen by a 1 ms timer while the calls ran, ms: median of the rounds' p99, and the max. */
  loopDelayMs?: { p99: number; max: number };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Variant {
  name: string;
  call: (start: number, n: number) => Promise<unknown>;
  /** Watch the event loop with a 1 ms timer while this variant runs. */
  watchLoop: boolean;
}

/**
 * Rows/s of each variant at one batch size. The machine is shared, so the time is split into
 * ROUNDS rounds that alternate between the variants (a burst of load hits all of them alike),
 * and the median round is reported.
 */
async function measure(batch: number, variants: Variant[]): Promise<Record<string, Throughput>> {
  // A fresh delay monitor per round: a re-enabled monitor would count the time it was off.
  const state = variants.map((v) => ({
    v,
    durations: [] as number[],
    rates: [] as number[],
    loopP99: [] as number[],
    loopMax: 0,
  }));
  // warm-up: first calls allocate and fault pages in
  for (const { v } of state) for (let k = 0; k < 3; k++) await v.call(0, batch);
  let i = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const st of state) {
      const histogram = st.v.watchLoop ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
      histogram?.enable();
      let rows = 0;
      let calls = 0;
      const t0 = performance.now();
      let elapsed = 0;
      while (elapsed < (SECONDS * 1000) / ROUNDS || calls < 2) {
        if (i + batch > BENCH_ROWS) i = 0;
        const c0 = performance.now();
        await st.v.call(i, batch);
        st.durations.push(performance.now() - c0);
        rows += batch;
        i += batch;
        calls++;
        elapsed = performance.now() - t0;
      }
      histogram?.disable();
      if (histogram) {
        st.loopP99.push(histogram.percentile(99) / 1e6);
        st.loopMax = Math.max(st.loopMax, histogram.max / 1e6);
      }
      st.rates.push(rows / (elapsed / 1000));
    }
  }
  return Object.fromEntries(
    state.map(({ v, durations, rates, loopP99, loopMax }) => [
      v.name,
      {
        rowsPerS: pct(rates, 50),
        calls: durations.length,
        callMs: {
          p50: pct(durations, 50),
          p99: pct(durations, 99),
          max: durations.reduce((m, d) => (d > m ? d : m), -Infinity),
        },
        ...(v.watchLoop ? { loopDelayMs: { p99: pct(loopP99, 50), max: loopMax } } : {}),
      },
    ]),
  );
}

async function singleRow(call: (i: number) => Promise<unknown>): Promise<{ p50_us: number; p99_us: number }> {
  for (let k = 0; k < 50; k++) await call(k);
  const lat: number[] = [];
  for (let k = 0; k < SINGLE_CALLS; k++) {
    const t0 = performance.now();
    await call(k % BENCH_ROWS);
    lat.push((performance.now() - t0) * 1000);
  }
  return { p50_us: pct(lat, 50), p99_us: pct(lat, 99) };
}

function bareRunner(
  session: InferenceSession,
  input: string,
  outputs: string[],
  flat: Float32Array,
  width: number,
) {
  return (start: number, n: number) =>
    session.run(
      { [input]: new Tensor("float32", flat.subarray(start * width, (start + n) * width), [n, width]) },
      outputs,
    );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const config = loadConfig(process.env).model;
  const settings: SessionSettings = {
    ...DEFAULT_SESSION_SETTINGS,
    ...modelSettingsFromConfig(config).load.session,
  };
  const dir = resolve(args.str("model") ?? modelSettingsFromConfig(config).dir);
  const card = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as Card;
  progress(`model ${card.version} (${dir}); session ${JSON.stringify(settings)}; ${cpus().length} CPUs`);

  const python = await ensureVenv({ toolsDir: resolveToolsDir(config.toolsDir) });
  const tmp = mkdtempSync(join(tmpdir(), "att-bench-scoring-"));
  progress(`generating ${BENCH_ROWS} synthetic rows (seed 777)`);
  const rowsCsv = join(tmp, "rows.csv");
  py(
    python,
    [
      "-m",
      "att_model",
      "generate-synthetic",
      "--out",
      rowsCsv,
      "--rows",
      String(BENCH_ROWS),
      "--seed",
      "777",
    ],
    "generate-synthetic",
  );
  const trainCsv = trainingCsv(python, card, tmp);

  let sklOnnx = join(REPO, "models", "bench", `skl2onnx-${card.version}.onnx`);
  if (!existsSync(sklOnnx)) {
    progress("converting the model with skl2onnx (no committed graph for this version)");
    sklOnnx = join(tmp, "skl2onnx.onnx");
    py(
      python,
      ["-m", "att_model", "export-skl2onnx", "--model", dir, "--model-rows", trainCsv, "--out", sklOnnx],
      "export-skl2onnx",
    );
  }

  progress(
    `scikit-learn: refit, then score_samples at batch ${SIZES.join(", ")} and ${Math.round(SINGLE_CALLS / 10)} single rows`,
  );
  const sk = JSON.parse(
    py(
      python,
      [
        "-c",
        SKLEARN_TIMER,
        dir,
        trainCsv,
        rowsCsv,
        String(SECONDS),
        SIZES.join(","),
        String(Math.round(SINGLE_CALLS / 10)),
        String(ROUNDS),
      ],
      "sklearn timing",
    ),
  ) as SklearnResult;

  const loadOptions = {
    ...modelSettingsFromConfig(config).load,
    session: settings,
    requireKnownFeatures: false,
  };
  const model: Model = await loadModel(dir, loadOptions);
  const width = model.featureCount;
  const rows = readFeatureRows(readFileSync(rowsCsv, "utf8"), model.features, rowsCsv).map((r) => r.values);
  const flat = new Float32Array(rows.length * width);
  rows.forEach((r, i) => flat.set(r, i * width));

  progress("parity: engine vs scikit-learn on every bench row");
  const ours = await model.scoreBatch(rows);
  let maxDiff = 0;
  let mismatches = 0;
  ours.forEach((o, i) => {
    if (!o.ok) throw o.error;
    maxDiff = Math.max(maxDiff, Math.abs(o.score - sk.scores[i]!));
    if (o.anomalous !== sk.scores[i]! >= model.threshold) mismatches++;
  });

  const compact = await createSession(readFileSync(join(dir, "model.onnx")), settings, "model.onnx");
  const skl = await createSession(readFileSync(sklOnnx), settings, sklOnnx);
  // The same graph with two intra-op threads: what more cores buy at large batches.
  const compact2 = await createSession(
    readFileSync(join(dir, "model.onnx")),
    { ...settings, intraOpThreads: 2 },
    "model.onnx",
  );
  const sklInput = skl.inputNames[0]!;
  const engineCall = (start: number, n: number) => model.scoreBatch(rows.slice(start, start + n));
  const compactCall = bareRunner(compact, "features", ["score"], flat, width);
  const compact2Call = bareRunner(compact2, "features", ["score"], flat, width);
  const sklCall = bareRunner(skl, sklInput, [...skl.outputNames], flat, width);

  const throughput: Record<
    string,
    Record<string, Throughput | { rowsPerS: number; callMs: { p50: number } }>
  > = {};
  const variants: Variant[] = [
    { name: "engine", call: engineCall, watchLoop: true },
    { name: "compact", call: compactCall, watchLoop: true },
    { name: "compact-2t", call: compact2Call, watchLoop: false },
    { name: "skl2onnx", call: sklCall, watchLoop: true },
  ];
  for (const b of SIZES) {
    progress(`batch ${b}: engine, compact and skl2onnx in ${ROUNDS} alternating rounds (event loop watched)`);
    throughput[b] = {
      ...(await measure(b, variants)),
      sklearn: { rowsPerS: sk.throughput[b]!.rows_per_s, callMs: { p50: sk.throughput[b]!.call_ms } },
    };
  }

  progress(`single-row latency: ${SINGLE_CALLS} sequential calls each`);
  const single = {
    engine: await singleRow((i) => model.scoreBatch([rows[i]!])),
    compact: await singleRow((i) => compactCall(i, 1)),
    skl2onnx: await singleRow((i) => sklCall(i, 1)),
    sklearn: sk.single,
  };

  progress(`explanations: TreeSHAP of ${EXPLAIN_ROWS} rows, leaf closed form vs Algorithm 2`);
  const forest = parseForest(JSON.parse(readFileSync(join(dir, "forest.json"), "utf8")), dir);
  const out = new Float64Array(width);
  const timeExplain = (fn: (row: Float32Array) => void) => {
    for (let k = 0; k < 100; k++) fn(rows[k]!);
    const lat: number[] = [];
    for (let k = 0; k < EXPLAIN_ROWS; k++) {
      const t0 = performance.now();
      fn(rows[k]!);
      lat.push((performance.now() - t0) * 1000);
    }
    return {
      mean_us: lat.reduce((a, b) => a + b, 0) / lat.length,
      p50_us: pct(lat, 50),
      p99_us: pct(lat, 99),
    };
  };
  const explain = {
    closedForm: timeExplain((r) => model.attributions(r, out)),
    algorithm2: timeExplain((r) => treeShapAlgorithm2(forest, r, out)),
    explainTopK: timeExplain((r) => model.explain(r, 5)),
  };
  let leaves = 0;
  forest.left.forEach((l) => (leaves += l === -1 ? 1 : 0));

  await Promise.all([model.close(), compact.release(), compact2.release(), skl.release()]);

  // ---- report
  const ratio = (a: number, b: number) => a / b;
  const rowsOf = (b: number, k: string) => (throughput[b]![k] as { rowsPerS: number }).rowsPerS;
  const goals = {
    batchThroughputVsSklearn: {
      goal: ">= 20x at batch 256 and 4096",
      ratios: [256, 4096].map((b) => ratio(rowsOf(b, "engine"), rowsOf(b, "sklearn"))),
    },
    singleRowModelTime: {
      goal: "<= 50 us (p50 of a bare single-row run of model.onnx)",
      p50_us: single.compact.p50_us,
      engine_p50_us: single.engine.p50_us,
    },
    explanation: { goal: "well under 1 ms per row", mean_us: explain.closedForm.mean_us },
  };
  const met = {
    throughput: goals.batchThroughputVsSklearn.ratios.every((r) => r >= 20),
    single: single.compact.p50_us <= 50,
    explain: explain.closedForm.mean_us < 1000,
  };

  const fmt = (x: number, d = 0) =>
    x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines: string[] = [];
  lines.push(
    `\nScoring engine — model ${card.version}, ${forest.nTrees} trees, ${leaves} leaves, max depth ${forest.maxDepth}; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}; session ${JSON.stringify(settings)}`,
  );
  lines.push(
    `parity on ${rows.length} rows: engine vs scikit-learn max |diff| ${maxDiff.toExponential(2)}, prediction mismatches ${mismatches}; refit vs model folder ${sk.refit_vs_model_folder_max_abs_diff.toExponential(2)}\n`,
  );
  lines.push("rows/s          " + SIZES.map((b) => `batch ${b}`.padStart(14)).join(""));
  for (const k of ["engine", "compact", "compact-2t", "skl2onnx", "sklearn"])
    lines.push(k.padEnd(16) + SIZES.map((b) => fmt(rowsOf(b, k)).padStart(14)).join(""));
  lines.push(
    "engine/sklearn  " +
      SIZES.map((b) => `${fmt(ratio(rowsOf(b, "engine"), rowsOf(b, "sklearn")), 1)}x`.padStart(14)).join(""),
  );
  lines.push(
    "engine/skl2onnx " +
      SIZES.map((b) => `${fmt(ratio(rowsOf(b, "engine"), rowsOf(b, "skl2onnx")), 1)}x`.padStart(14)).join(""),
  );
  lines.push(`\nevent loop (ms; the engine splits calls at ${loadOptions.maxBatchSize} rows)`);
  lines.push(" ".repeat(18) + SIZES.map((b) => `batch ${b}`.padStart(14)).join(""));
  const tp = (b: number, k: string) => throughput[b]![k] as Throughput;
  const row = (label: string, f: (b: number) => number) =>
    lines.push(label.padEnd(18) + SIZES.map((b) => fmt(f(b), 3).padStart(14)).join(""));
  for (const k of ["engine", "compact", "skl2onnx"]) {
    row(`${k} call p99`, (b) => tp(b, k).callMs.p99);
    row(`  loop p99`, (b) => tp(b, k).loopDelayMs!.p99);
    row(`  loop max`, (b) => tp(b, k).loopDelayMs!.max);
  }
  lines.push("\nsingle row (us)          p50          p99    vs sklearn p50");
  for (const [k, v] of Object.entries(single)) {
    lines.push(
      `${k.padEnd(16)}${fmt(v.p50_us, 1).padStart(13)}${fmt(v.p99_us, 1).padStart(13)}${`${fmt(single.sklearn.p50_us / v.p50_us, 1)}x`.padStart(18)}`,
    );
  }
  lines.push("\nexplanation per row (us)  mean          p99");
  for (const [k, v] of Object.entries(explain))
    lines.push(`${k.padEnd(16)}${fmt(v.mean_us, 1).padStart(13)}${fmt(v.p99_us, 1).padStart(13)}`);
  lines.push(
    `closed form vs Algorithm 2: ${fmt(explain.algorithm2.mean_us / explain.closedForm.mean_us, 1)}x faster`,
  );
  lines.push(
    `\ngoals: batch throughput >= 20x scikit-learn (256: ${fmt(goals.batchThroughputVsSklearn.ratios[0]!, 1)}x, 4096: ${fmt(goals.batchThroughputVsSklearn.ratios[1]!, 1)}x) ${met.throughput ? "MET" : "NOT MET"}; ` +
      `single-row model time <= 50 us (${fmt(single.compact.p50_us, 1)} us) ${met.single ? "MET" : "NOT MET"}; ` +
      `explanation < 1 ms (${fmt(explain.closedForm.mean_us, 1)} us) ${met.explain ? "MET" : "NOT MET"}`,
  );
  process.stdout.write(lines.join("\n") + "\n");

  const results = {
    when: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      loadavg: loadavg(),
    },
    model: {
      dir: dir.replace(REPO, ""),
      version: card.version,
      trees: forest.nTrees,
      leaves,
      maxDepth: forest.maxDepth,
      skl2onnx: sklOnnx.replace(REPO, ""),
    },
    settings,
    maxBatchSize: loadOptions.maxBatchSize,
    seconds_per_measurement: SECONDS,
    parity: {
      rows: rows.length,
      maxAbsDiffVsSklearn: maxDiff,
      predictionMismatches: mismatches,
      refitVsModelFolder: sk.refit_vs_model_folder_max_abs_diff,
    },
    throughput,
    single,
    explain,
    goals,
    met,
  };
  mkdirSync(join(REPO, "bench", "results"), { recursive: true });
  writeFileSync(join(REPO, "bench", "results", "scoring.json"), JSON.stringify(results, null, 2) + "\n");
  progress("wrote bench/results/scoring.json");
}

await main();
