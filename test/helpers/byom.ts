import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCsv } from "../../src/kernel/csv.js";
import { runAtt } from "./processes.js";

/**
 * Bring-your-own-model fixtures (issue 15) shared by test/byom-*.test.ts and bench/byom.ts:
 * models of every kind trained by model-tools/scripts/make_byom_models.py in a given
 * scikit-learn version, imported through `att model import`, and scikit-learn's own scores of
 * rows computed in that same version (test/helpers/byom_reference.py).
 */

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const TOOLING_PYTHON = join(REPO, "model-tools", ".venv", "bin", "python");
export const HAS_TOOLING = existsSync(TOOLING_PYTHON);
const MAKE_MODELS = join(REPO, "model-tools", "scripts", "make_byom_models.py");
const REFERENCE = fileURLToPath(new URL("byom_reference.py", import.meta.url));

/** The pinned scikit-learn of the tooling, and the older one the tooling supports. */
export const PINNED_SKLEARN = "1.7.2";
export const OLDER_SKLEARN = "1.3.2";

/** One case per estimator kind the issue names: the make_byom_models kind and the card's kind. */
export const BYOM_CASES = [
  { name: "IsolationForest", file: "isolation_forest", kind: "isolation_forest" },
  { name: "RandomForest", file: "random_forest", kind: "random_forest" },
  { name: "ExtraTrees", file: "extra_trees", kind: "extra_trees" },
  { name: "GradientBoosting", file: "gradient_boosting", kind: "gradient_boosting" },
  { name: "HistGradientBoosting", file: "hist_gradient_boosting", kind: "hist_gradient_boosting" },
  { name: "LogisticRegression", file: "logistic_regression", kind: "logistic_regression" },
  {
    name: "Pipeline(StandardScaler, LogisticRegression)",
    file: "pipeline_standard_logistic",
    kind: "logistic_regression",
  },
] as const;
export type ByomCase = (typeof BYOM_CASES)[number];

export const SAVE_FORMATS = [
  { format: "pickle", ext: "pkl" },
  { format: "joblib", ext: "joblib" },
  { format: "skops", ext: "skops" },
] as const;

function python(cmd: string, args: string[], cwd = REPO): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * The Python of exactly scikit-learn `version`: the tooling venv for the pinned one, else the
 * tooling's own per-version venv (.local/sklearn-envs/<version>, created from PyPI on first use).
 */
export function sklearnPython(version: string): string {
  if (version === PINNED_SKLEARN) return TOOLING_PYTHON;
  return python(
    TOOLING_PYTHON,
    ["-c", `import sys; from att_model.venvs import python_for; print(python_for(sys.argv[1]))`, version],
    join(REPO, "model-tools"),
  )
    .trim()
    .split("\n")
    .pop()!;
}

export interface TrainedModels {
  dir: string;
  sklearnVersion: string;
  features: string[];
  /** rows the models were trained on (CSV with a label column), and the import's check rows. */
  trainCsv: string;
  checkCsv: string;
  file(c: ByomCase, ext: string): string;
}

/** Trains every case's model with `py` and saves it in every format (make_byom_models.py). */
export function trainModels(py: string, dir: string, kinds = BYOM_CASES.map((c) => c.file)): TrainedModels {
  mkdirSync(dir, { recursive: true });
  python(py, [MAKE_MODELS, "--out", dir, "--kinds", kinds.join(",")]);
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
    sklearn_version: string;
    features: string[];
  };
  return {
    dir,
    sklearnVersion: manifest.sklearn_version,
    features: manifest.features,
    trainCsv: join(dir, "train.csv"),
    checkCsv: join(dir, "check.csv"),
    file: (c, ext) => join(dir, `${c.file}.${ext}`),
  };
}

/** `att model import FILE --out DIR` (through the CLI, as a user runs it); throws with its output on failure. */
export async function importModel(file: string, out: string, args: string[]): Promise<string> {
  const r = await runAtt(["model", "import", file, "--out", out, ...args], {}, 900_000);
  if (r.code !== 0) throw new Error(`att model import ${file} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return out;
}

/** Runs `fn` over `items` with at most `n` at a time (imports are Python processes: 2 cores). */
export async function inParallel<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Feature rows of a CSV with a header, in `features` order (missing columns are an error). */
export function csvRows(path: string, features: readonly string[]): number[][] {
  const [header, ...records] = parseCsv(readFileSync(path, "utf8"));
  const idx = features.map((f) => {
    const i = header!.indexOf(f);
    if (i < 0) throw new Error(`${path} has no column ${f}`);
    return i;
  });
  return records.filter((r) => r.length === header!.length).map((r) => idx.map((i) => Number(r[i])));
}

export interface ReferenceJob {
  model: string;
  method?: "auto" | "decision_function";
  timeBatch?: number;
  timeSeconds?: number;
}
export interface ReferenceResult {
  method: string;
  scores: number[];
  rows_per_s?: number;
}

/** scikit-learn's own scores of `rows` (cast to float32) for every job's model, in `py`'s version. */
export function sklearnScores(
  py: string,
  workDir: string,
  rows: ArrayLike<number>[],
  jobs: ReferenceJob[],
): { sklearnVersion: string; results: ReferenceResult[] } {
  const input = join(workDir, `reference-in-${process.pid}-${Date.now()}.json`);
  const output = `${input}.out`;
  writeFileSync(
    input,
    JSON.stringify({
      rows: rows.map((r) => Array.from(r)),
      jobs: jobs.map((j) => ({
        model: j.model,
        method: j.method ?? "auto",
        ...(j.timeBatch ? { time_batch: j.timeBatch, time_seconds: j.timeSeconds ?? 2 } : {}),
      })),
    }),
  );
  python(py, [REFERENCE, input, output]);
  const doc = JSON.parse(readFileSync(output, "utf8")) as {
    sklearn_version: string;
    results: ReferenceResult[];
  };
  return { sklearnVersion: doc.sklearn_version, results: doc.results };
}

/** The import's parity rule (docs/model-formats.md): |ours − reference| <= 1e-6 · max(1, |reference|). */
export function withinTolerance(ours: number, reference: number, extraAbs = 0): boolean {
  return Math.abs(ours - reference) <= 1e-6 * Math.max(1, Math.abs(reference)) + extraAbs;
}
