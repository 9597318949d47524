import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelError } from "../src/kernel/errors.js";
import { readFeatureRows } from "../src/model/csv.js";
import { exactScore } from "../src/model/estimator-model.js";
import { exactMargin, parseExplain, type ExplainModel, type TreeSet } from "../src/model/explain-json.js";
import { sha256 } from "../src/model/files.js";
import { probeRows } from "../src/model/forest.js";
import { loadModel, type Model } from "../src/model/index.js";
import type { CardV2 } from "../src/model/card-v2.js";
import { createTreeExplainer } from "../src/model/tree-shap.js";
import { HAS_TOOLING, TOOLING_PYTHON } from "./helpers/byom.js";
import { rng } from "./helpers/rng.js";
import { copyModel, editJson } from "./model-fixtures.js";

/**
 * The att-model/2 engine on folders whose every number is known: test/helpers/byom_fixture.py
 * fits each kind in the pinned scikit-learn, converts it with skl2onnx and writes explain.json
 * and scikit-learn's scores of 2,000 check rows. (The same kinds through `att model import`, in
 * two scikit-learn versions and three file formats, are test/byom-e2e.test.ts.)
 */

const FIXTURE = fileURLToPath(new URL("helpers/byom_fixture.py", import.meta.url));
const EXPLAIN_DATA_DIR = fileURLToPath(new URL("../model-tools/", import.meta.url));
const KINDS = [
  "random_forest",
  "extra_trees",
  "gradient_boosting",
  "hist_gradient_boosting",
  "logistic_regression",
  "pipeline",
] as const;

if (!HAS_TOOLING)
  console.warn("byom-engine: model-tools/.venv is absent (run model-tools/setup.sh); skipping");

const work = mkdtempSync(join(tmpdir(), "att-byom-engine-"));
function fixture(kind: string, name = kind, extra: string[] = []): string {
  const out = join(work, name);
  const r = spawnSync(TOOLING_PYTHON, [FIXTURE, kind, out, ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`byom_fixture ${kind} failed:\n${r.stderr}`);
  return out;
}

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const explainOf = (dir: string) => parseExplain(readJson(join(dir, "explain.json")), dir);
const cardOf = (dir: string) => readJson<CardV2>(join(dir, "model.json"));

/** Rows of the fixture's rows.csv with scikit-learn's scores and predictions. */
function checkRows(dir: string, features: readonly string[]) {
  const rows = readFeatureRows(readFileSync(join(dir, "rows.csv"), "utf8"), features, "rows.csv");
  const ref = readJson<{ scores: number[]; predictions: number[] }>(join(dir, "sklearn.json"));
  return { rows: rows.map((r) => r.values), ...ref };
}

/** Path-dependent E[f(x) | x_S] of a tree set: features outside S follow both children by cover. */
function conditional(m: TreeSet, row: Float32Array, inS: (j: number) => boolean): number {
  const walk = (i: number): number => {
    const l = m.left[i]!;
    if (l === -1) return m.value[i]!;
    const r = m.right[i]!;
    const j = m.feature[i]!;
    if (inS(j)) return walk(row[j]! <= m.threshold[i]! ? l : r);
    return (m.cover[l]! * walk(l) + m.cover[r]! * walk(r)) / (m.cover[l]! + m.cover[r]!);
  };
  let sum = 0;
  for (let t = 0; t < m.nTrees; t++) sum += walk(m.roots[t]!) / m.divisor;
  return m.baseOffset + sum;
}

/** Shapley values of v(S) = E[f(x) | x_S] by the formula, over every subset of the used features. */
function bruteForceShapley(m: TreeSet, row: Float32Array): Float64Array {
  const used = [...new Set(Array.from(m.feature).filter((f) => f >= 0))];
  const n = used.length;
  const fact = [1];
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1]! * i);
  const value = new Map<number, number>();
  const v = (mask: number) => {
    let x = value.get(mask);
    if (x === undefined) {
      x = conditional(m, row, (j) => {
        const k = used.indexOf(j);
        return k >= 0 && (mask & (1 << k)) !== 0;
      });
      value.set(mask, x);
    }
    return x;
  };
  const phi = new Float64Array(m.nFeatures);
  used.forEach((j, k) => {
    for (let mask = 0; mask < 1 << n; mask++) {
      if (mask & (1 << k)) continue;
      let size = 0;
      for (let b = mask; b; b >>= 1) size += b & 1;
      phi[j]! += ((fact[size]! * fact[n - size - 1]!) / fact[n]!) * (v(mask | (1 << k)) - v(mask));
    }
  });
  return phi;
}

describe.skipIf(!HAS_TOOLING)("att-model/2 models of every kind through the engine", () => {
  const dirs = new Map<string, string>();
  const models = new Map<string, Model>();
  beforeAll(async () => {
    for (const kind of KINDS) {
      dirs.set(kind, fixture(kind));
      models.set(kind, await loadModel(dirs.get(kind)!));
    }
  }, 600_000);
  afterAll(async () => {
    for (const m of models.values()) await m.close();
  });

  for (const kind of KINDS) {
    it(`${kind}: scores 2,000 rows like scikit-learn within the import's tolerance, with identical predictions`, async () => {
      const model = models.get(kind)!;
      const card = cardOf(dirs.get(kind)!);
      expect(model.kind).toBe(card.estimator.kind);
      expect(model.scoreKind).toBe("probability");
      const { rows, scores, predictions } = checkRows(dirs.get(kind)!, model.features);
      const out = await model.scoreBatch(rows);
      out.forEach((o, i) => {
        if (!o.ok) throw o.error;
        expect(Math.abs(o.score - scores[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(scores[i]!)));
        expect(o.anomalous ? 1 : 0).toBe(predictions[i]);
      });
      // scoreRows (the score stage's call) gives the same numbers
      const flat = new Float32Array(rows.length * model.featureCount);
      rows.forEach((r, i) => flat.set(r, i * model.featureCount));
      const again = await model.scoreRows(flat, rows.length);
      out.forEach((o, i) => expect(again[i]).toBe(o.ok ? o.score : NaN));
    });

    it(`${kind}: attributions sum to f(x) minus the base value within 1e-6 on 2,000 rows`, () => {
      const model = models.get(kind)!;
      const exact = explainOf(dirs.get(kind)!);
      expect(model.baseValue).toBe(exact.baseValue);
      const { rows } = checkRows(dirs.get(kind)!, model.features);
      let worst = 0;
      for (const row of rows) {
        const phi = model.attributions(row);
        const sum = phi.reduce((a, b) => a + b, 0);
        worst = Math.max(worst, Math.abs(sum - (exactMargin(exact, row) - model.baseValue)));
      }
      expect(worst).toBeLessThan(1e-6);
      // explain() reports them with the sign that raises the positive side's score
      const row = rows.find((r) => model.explain(r, 3).length > 0)!;
      const top = model.explain(row, 3);
      const phi = model.attributions(row);
      for (const a of top) {
        expect(a.contribution).toBe(phi[model.features.indexOf(a.feature)]);
        expect(a.direction).toBe(a.contribution > 0 ? "raises" : "lowers");
      }
    });
  }

  it("re-scores rows at the threshold in float64, so that the prediction is scikit-learn's exactly", async () => {
    const random = rng(3);
    for (const kind of ["gradient_boosting", "logistic_regression"] as const) {
      const dir = dirs.get(kind)!;
      const card = cardOf(dir);
      const exact = explainOf(dir);
      const { rows } = checkRows(dir, card.features);
      for (let k = 0; k < 20; k++) {
        const row = rows[Math.floor(random() * rows.length)]!;
        const want = exactScore(card, exact, row);
        // With the threshold exactly at this row's float64 score, float32 rounding (~1e-7) would
        // put it on either side; the engine must call it positive, with the float64 score.
        const model = await loadModel(dir, { threshold: want });
        try {
          const [o] = await model.scoreBatch([row]);
          expect(o).toMatchObject({ ok: true, score: want, anomalous: true });
          const below = await loadModel(dir, { threshold: want + Math.max(1e-12, Math.abs(want) * 1e-12) });
          const [p] = await below.scoreBatch([row]);
          await below.close();
          expect(p).toMatchObject({ ok: true, anomalous: false });
        } finally {
          await model.close();
        }
      }
    }
  });

  it("refuses a row with NaN, Infinity or the wrong width alone and scores the others", async () => {
    const model = models.get("hist_gradient_boosting")!;
    const good = new Float32Array(model.featureCount).fill(1);
    const nan = good.slice();
    nan[2] = NaN;
    const inf = good.slice();
    inf[0] = Infinity;
    const out = await model.scoreBatch([good, nan, inf, new Float32Array(3), good]);
    expect(out.map((o) => o.ok)).toEqual([true, false, false, false, true]);
    for (const o of out.filter((o) => !o.ok))
      expect((o as { error: ModelError }).error.code).toBe("ATT_MODEL_INVALID_INPUT");
    await expect(model.scoreRows(nan, 1)).rejects.toMatchObject({ code: "ATT_MODEL_INVALID_INPUT" });
  });
});

describe.skipIf(!HAS_TOOLING)("exact explanations", () => {
  for (const kind of ["random_forest", "gradient_boosting", "hist_gradient_boosting"] as const) {
    it(`${kind}: TreeSHAP equals the Shapley values of E[f(x) | x_S] by brute force, and the Python reference (model-tools explain_data.shap_brute_force)`, () => {
      const dir = fixture(kind, `${kind}-small`, ["--small", "--rows", "40"]);
      const m = explainOf(dir) as TreeSet;
      const explainer = createTreeExplainer(m);
      const card = cardOf(dir);
      const { rows } = checkRows(dir, card.features);
      const sample = [...rows.slice(0, 25), ...probeRows(m, 8)];
      for (const row of sample) {
        const fast = explainer.shap(row);
        const slow = bruteForceShapley(m, row);
        for (let j = 0; j < m.nFeatures; j++) expect(Math.abs(fast[j]! - slow[j]!)).toBeLessThan(1e-12);
      }
      // The Python side's own brute force over the same explain.json.
      const rowsFile = join(dir, "shap-rows.json");
      writeFileSync(rowsFile, JSON.stringify(sample.slice(0, 10).map((r) => Array.from(r))));
      const py = spawnSync(
        TOOLING_PYTHON,
        [
          "-c",
          [
            "import json, sys, numpy as np",
            "from att_model.explain_data import shap_brute_force",
            "doc = json.load(open(sys.argv[1])); rows = json.load(open(sys.argv[2]))",
            "print(json.dumps([[list(map(float, p)), float(b)] for p, b in (shap_brute_force(doc, np.array(r, dtype=np.float32)) for r in rows)]))",
          ].join("\n"),
          join(dir, "explain.json"),
          rowsFile,
        ],
        { encoding: "utf8", cwd: EXPLAIN_DATA_DIR },
      );
      expect(py.status, py.stderr).toBe(0);
      const reference = JSON.parse(py.stdout) as [number[], number][];
      reference.forEach(([phi, base], r) => {
        expect(Math.abs(base - m.baseValue)).toBeLessThan(1e-9);
        const fast = explainer.shap(sample[r]!);
        phi.forEach((p, j) => expect(Math.abs(fast[j]! - p)).toBeLessThan(1e-9));
      });
    });
  }

  it("linear models: coef_j · (x_j − reference_j) on the margin, the scaler folded in", async () => {
    const dir = fixture("pipeline", "pipeline-linear", ["--rows", "50"]);
    const model = await loadModel(dir);
    try {
      const exact = explainOf(dir) as Extract<ExplainModel, { kind: "linear" }>;
      expect(model.explainSpace).toBe("margin");
      const { rows } = checkRows(dir, model.features);
      for (const row of rows) {
        const phi = model.attributions(row);
        for (let j = 0; j < model.featureCount; j++)
          expect(phi[j]).toBe(exact.coef[j]! * (row[j]! - exact.reference[j]!));
      }
    } finally {
      await model.close();
    }
  });
});

describe.skipIf(!HAS_TOOLING)("att-model/2 refusals", () => {
  let base: string;
  beforeAll(() => {
    base = fixture("gradient_boosting", "refusals-base");
  }, 300_000);

  const refusal = async (dir: string): Promise<ModelError> => {
    try {
      const m = await loadModel(dir);
      await m.close();
    } catch (err) {
      return err as ModelError;
    }
    throw new Error(`${dir} was accepted`);
  };
  /** Edits a file and writes its new sha256 into the card, as a careless re-export would. */
  const editListed = (dir: string, name: string, edit: (doc: Record<string, unknown>) => void) => {
    editJson(join(dir, name), edit);
    editJson(join(dir, "model.json"), (c) => {
      (c.files as Record<string, { sha256: string }>)[name]!.sha256 = sha256(readFileSync(join(dir, name)));
    });
  };

  it("refuses explain.json describing another model than model.onnx (probe rows disagree)", async () => {
    const dir = copyModel(base);
    editListed(dir, "explain.json", (d) => {
      d.base_offset = (d.base_offset as number) + 0.5;
    });
    const err = await refusal(dir);
    expect(err.code).toBe("ATT_MODEL_INVALID_EXPLAIN");
    expect(err.message).toContain("not the same model");
  });

  it("refuses an explain.json whose link does not fit the card's explained space", async () => {
    const dir = copyModel(base);
    editListed(dir, "explain.json", (d) => {
      d.link = "identity";
    });
    expect((await refusal(dir)).code).toBe("ATT_MODEL_INVALID_EXPLAIN");
  });

  it("refuses a card whose score kind the estimator cannot have, labels that are not upper-case names, or a failed parity report", async () => {
    const kind = copyModel(base);
    editJson(join(kind, "model.json"), (c) => {
      (c.score as Record<string, unknown>).kind = "anomaly_score";
    });
    expect((await refusal(kind)).code).toBe("ATT_MODEL_INVALID_CARD");
    const labels = copyModel(base);
    editJson(join(labels, "model.json"), (c) => {
      (c.score as { labels: Record<string, string> }).labels.positive = "fraud ring";
    });
    const err = await refusal(labels);
    expect(err.code).toBe("ATT_MODEL_INVALID_CARD");
    expect(err.message).toContain("score.labels.positive");
    const parity = copyModel(base);
    editJson(join(parity, "model.json"), (c) => {
      Object.assign(c.parity as object, { passed: false, prediction_mismatches: 3 });
    });
    expect((await refusal(parity)).message).toContain("3 prediction mismatches");
  });

  it("refuses a tampered explain.json by its hash", async () => {
    const dir = copyModel(base);
    editJson(join(dir, "explain.json"), (d) => {
      d.base_offset = 0;
    });
    expect((await refusal(dir)).code).toBe("ATT_MODEL_HASH_MISMATCH");
  });
});
