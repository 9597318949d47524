/**
 * Bring-your-own-model throughput (issue 15): rows/s at batch 256 for every estimator kind
 * through our path — `att model import` of the pickle, then the engine's `scoreRows` (one
 * onnxruntime-node call per batch, float64 re-scoring near the threshold) — against the same
 * model's own scikit-learn `predict_proba` (`score_samples` for the IsolationForest) on the same
 * rows, batch and seconds, in the same run. Also the cost of one row's explanation.
 *
 *   npx tsx bench/byom.ts [--quick] [--seconds 2] [--rounds 3] [--batch 256] [--kinds a,b]
 *
 * Writes bench/results/byom.json; prints a table with the ratios.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../src/model/index.js";
import {
  BYOM_CASES,
  csvRows,
  importModel,
  PINNED_SKLEARN,
  sklearnPython,
  sklearnScores,
  trainModels,
} from "../test/helpers/byom.js";
import { benchArgs } from "./lib/args.js";
import { createProgress } from "./lib/progress.js";
import { finishReport, startReport, withBaseline } from "./lib/results.js";
import { benchTable, fmt, fmtRatio } from "./lib/table.js";

const args = benchArgs({
  seconds: "string",
  rounds: "string",
  batch: "string",
  kinds: "string",
  sklearn: "string",
});
const QUICK = args.quick;
const SECONDS = args.num("seconds", QUICK ? 0.5 : 2);
const ROUNDS = args.num("rounds", QUICK ? 1 : 3);
const BATCH = args.num("batch", 256);
const VERSION = args.str("sklearn") ?? PINNED_SKLEARN;
const kindsWanted = args.list("kinds");
const CASES = BYOM_CASES.filter((c) => kindsWanted.length === 0 || kindsWanted.includes(c.file));
const progress = createProgress("byom", 3 + CASES.length);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const report = startReport(
    "byom",
    "Bring your own model: every kind against its own scikit-learn",
    `npx tsx bench/byom.ts${QUICK ? " --quick" : ""}`,
    QUICK,
  );
  const work = mkdtempSync(join(tmpdir(), "att-bench-byom-"));
  progress.phase(
    `training every kind with scikit-learn ${VERSION} (model-tools/scripts/make_byom_models.py)`,
  );
  const py = sklearnPython(VERSION);
  const trained = trainModels(
    py,
    join(work, "files"),
    CASES.map((c) => c.file),
  );
  const rows = csvRows(trained.trainCsv, trained.features);
  const width = trained.features.length;
  const flat = new Float32Array(rows.length * width);
  rows.forEach((r, i) => flat.set(r, i * width));

  progress.phase(
    `scikit-learn ${VERSION}: ${BATCH}-row batches for ${SECONDS} s per model, ${ROUNDS} round(s)`,
  );
  const sk: number[][] = CASES.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const res = sklearnScores(
      py,
      work,
      rows,
      CASES.map((c) => ({ model: trained.file(c, "pkl"), timeBatch: BATCH, timeSeconds: SECONDS })),
    ).results;
    res.forEach((r, i) => sk[i]!.push(r.rows_per_s!));
  }

  const table: string[][] = [];
  for (const [i, c] of CASES.entries()) {
    progress.phase(`${c.name}: att model import, then scoreRows at batch ${BATCH}`);
    const dir = await importModel(trained.file(c, "pkl"), join(work, "models", c.file), [
      "--features-from",
      trained.trainCsv,
      ...(c.kind === "isolation_forest" ? [] : ["--check-rows", trained.checkCsv]),
    ]);
    let model: Awaited<ReturnType<typeof loadModel>>;
    try {
      model = await loadModel(dir, { requireKnownFeatures: false });
    } catch (err) {
      // A model the engine refuses is a finding of the run, not the end of it.
      const e = err as { code?: string; message: string };
      progress.note(`${c.name}: refused by the engine (${e.code}): ${e.message.split("\n")[0]}`);
      report.notes.push(
        `${c.name}: the engine refused the imported folder (${e.code}): ${e.message.split("\n").slice(0, 2).join(" ")}`,
      );
      table.push([c.name, "refused", "–", fmt(median(sk[i]!)), "–", "–"]);
      continue;
    }
    try {
      const perRound: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await model.scoreRows(flat.subarray(0, BATCH * width), BATCH); // warm-up
        let n = 0;
        let b = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < SECONDS * 1000) {
          const start = (b++ * BATCH) % Math.max(1, rows.length - BATCH);
          await model.scoreRows(flat.subarray(start * width, (start + BATCH) * width), BATCH);
          n += BATCH;
        }
        perRound.push(n / ((performance.now() - t0) / 1000));
      }
      const ours = median(perRound);
      const theirs = median(sk[i]!);
      // One row's explanation (top 5), the cost a positive finding adds.
      const explainRows = Math.min(rows.length, QUICK ? 200 : 1000);
      const te = performance.now();
      for (let r = 0; r < explainRows; r++) model.explain(flat.subarray(r * width, (r + 1) * width), 5);
      const explainUs = ((performance.now() - te) * 1000) / explainRows;
      report.results.push(
        withBaseline(
          { name: `${c.name}: engine scoreRows, batch ${BATCH}`, value: ours, unit: "rows/s" },
          {
            name: `scikit-learn ${VERSION} ${c.kind === "isolation_forest" ? "score_samples" : "predict_proba"}`,
            value: theirs,
          },
        ),
        {
          name: `${c.name}: explanation of one row (${model.explainSpace ?? "none"})`,
          value: explainUs,
          unit: "µs",
        },
      );
      table.push([
        c.name,
        model.card.format,
        fmt(ours),
        fmt(theirs),
        fmtRatio(ours / theirs),
        fmt(explainUs),
      ]);
      progress.note(
        `${c.name}: ${fmt(ours)} rows/s against scikit-learn ${fmt(theirs)} rows/s (${fmtRatio(ours / theirs)})`,
      );
    } finally {
      await model.close();
    }
  }

  report.settings = { batch: BATCH, seconds: SECONDS, rounds: ROUNDS, sklearn: VERSION, rows: rows.length };
  report.notes.push(
    `Models from model-tools/scripts/make_byom_models.py (scikit-learn ${VERSION}), imported from their pickles with att model import; rows: its ${rows.length} training rows, the same for both sides, cast to float32.`,
    "Ours: loadModel + scoreRows (onnxruntime-node, 1 intra-op thread, graph optimization all). scikit-learn: test/helpers/byom_reference.py in the model's own venv, the same batches; both medians of the rounds.",
  );
  progress.phase("results");
  const path = finishReport(report);
  process.stdout.write(
    `\n${benchTable(["model", "card", `ours rows/s (batch ${BATCH})`, "scikit-learn rows/s", "ours / sklearn", "explain µs/row"], table)}\n\nwritten to ${path}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/byom: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
