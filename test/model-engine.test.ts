import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../src/kernel/csv.js";
import { readFeatureRows } from "../src/model/csv.js";
import { expectedPathLength, scoreFromPathLength } from "../src/model/forest.js";
import { loadModel, REFINE_MARGIN, type Model } from "../src/model/index.js";
import {
  ATT_REFERENCE,
  attOriginalDir,
  defaultModelDir,
  HAS_SHARED_DATA,
  HAS_VENV,
  randomRows,
  readForest,
  rowsToCsv,
  VENV_PYTHON,
} from "./model-fixtures.js";

if (!HAS_SHARED_DATA)
  console.warn("model-engine: ../shared/data/att-reference is absent; skipping the original-model checks");
if (!HAS_VENV)
  console.warn(
    "model-engine: model-tools/.venv is absent (run model-tools/setup.sh); skipping the Python parity checks",
  );

describe.skipIf(!HAS_SHARED_DATA)("the original ATT model through the TypeScript engine", () => {
  let model: Model;
  beforeAll(async () => {
    const dir = attOriginalDir();
    if (!dir)
      throw new Error(
        "no original ATT model: neither model-tools/.venv nor models/registry/att-original-* exists",
      );
    model = await loadModel(dir);
  });
  afterAll(() => model?.close());

  it("reproduces the six reference scores of the exploit transactions within 1e-6", async () => {
    const csv = readFileSync(join(ATT_REFERENCE, "exploit_rows.csv"), "utf8");
    const rows = readFeatureRows(csv, model.features, "exploit_rows.csv");
    const [header, ...records] = parseCsv(csv);
    const expected = records.map((r) => Number(r[header!.indexOf("scores")]));
    expect(rows).toHaveLength(6);
    expect(expected).toEqual([0.411569, 0.532537, 0.662512, 0.694795, 0.578353, 0.366275]);
    const results = await model.scoreBatch(rows.map((r) => r.values));
    results.forEach((r, i) => {
      if (!r.ok) throw r.error;
      expect(Math.abs(r.score - expected[i]!)).toBeLessThanOrEqual(1e-6);
      expect(r.anomalous).toBe(expected[i]! >= 0.5);
    });
  });
});

describe.skipIf(!HAS_VENV)("agreement with the Python reference scorer", () => {
  const cases = [
    { name: "the registry's default model", dir: () => defaultModelDir() },
    ...(HAS_SHARED_DATA ? [{ name: "the original ATT model", dir: () => attOriginalDir()! }] : []),
  ];
  for (const c of cases) {
    it(`${c.name}: every prediction identical and scores within 1e-6 on 4,000 random rows`, async () => {
      const dir = c.dir();
      const model = await loadModel(dir);
      try {
        const rows = randomRows(readForest(dir), 4000, 20240611);
        const tmp = mkdtempSync(join(tmpdir(), "att-parity-"));
        writeFileSync(join(tmp, "rows.csv"), rowsToCsv(model.features, rows));
        const py = spawnSync(
          VENV_PYTHON,
          ["-m", "att_model", "score", "--model", dir, "--input", join(tmp, "rows.csv")],
          {
            encoding: "utf8",
            maxBuffer: 64 << 20,
          },
        );
        expect(py.status, py.stderr).toBe(0);
        const reference = py.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { score: number; prediction: string });
        const ours = await model.scoreBatch(rows);
        expect(ours).toHaveLength(reference.length);
        let nearThreshold = 0;
        let anomalies = 0;
        ours.forEach((o, i) => {
          if (!o.ok) throw o.error;
          const ref = reference[i]!;
          expect({ row: i, prediction: o.anomalous ? "ANOMALY" : "NORMAL" }).toEqual({
            row: i,
            prediction: ref.prediction,
          });
          expect(Math.abs(o.score - ref.score), `row ${i}`).toBeLessThanOrEqual(1e-6);
          if (Math.abs(ref.score - model.threshold) < 0.01) nearThreshold++;
          if (o.anomalous) anomalies++;
        });
        // The rows must exercise the threshold, or identical predictions would prove little.
        expect(anomalies).toBeGreaterThan(50);
        expect(nearThreshold).toBeGreaterThan(20);
      } finally {
        await model.close();
      }
    });
  }
});

describe("scoring", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(defaultModelDir());
  });
  afterAll(() => model?.close());

  it("scores a batch in one call with the ATT rule: anomalous iff score >= threshold", async () => {
    const rows = randomRows(readForest(model.dir), 300, 7);
    const results = await model.scoreBatch(rows);
    for (const r of results) {
      if (!r.ok) throw r.error;
      expect(r.modelVersion).toBe(model.version);
      expect(r.anomalous).toBe(r.score >= model.threshold);
      expect(r.score).toBeGreaterThan(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    const flat = new Float32Array(rows.length * model.featureCount);
    rows.forEach((r, i) => flat.set(r, i * model.featureCount));
    const scores = await model.scoreRows(flat, rows.length);
    expect(Array.from(scores)).toEqual(results.map((r) => (r.ok ? r.score : NaN)));
  });

  it("matches the float64 forest walk, which it uses for rows within REFINE_MARGIN of the threshold", async () => {
    const forest = readForest(model.dir);
    const rows = randomRows(forest, 2000, 99);
    const results = await model.scoreBatch(rows);
    results.forEach((r, i) => {
      if (!r.ok) throw r.error;
      const exact = scoreFromPathLength(forest, expectedPathLength(forest, rows[i]!));
      expect(Math.abs(r.score - exact)).toBeLessThan(1e-6);
      if (Math.abs(exact - model.threshold) < REFINE_MARGIN / 2) expect(r.score).toBe(exact);
    });
  });

  it("splits a batch larger than maxBatchSize into several calls with the same results", async () => {
    const rows = randomRows(readForest(model.dir), 100, 5);
    const small = await loadModel(model.dir, { maxBatchSize: 16 });
    try {
      expect(await small.scoreBatch(rows)).toEqual(await model.scoreBatch(rows));
    } finally {
      await small.close();
    }
  });

  it("refuses NaN and Infinity rows one by one and still scores the others", async () => {
    const good = new Float32Array(model.featureCount);
    const nan = new Float32Array(model.featureCount);
    nan[3] = NaN;
    const inf = new Float32Array(model.featureCount);
    inf[0] = -Infinity;
    const short = new Float32Array(model.featureCount - 1);
    const [a, b, c, d] = await model.scoreBatch([good, nan, inf, short]);
    expect(a!.ok).toBe(true);
    for (const [r, text] of [
      [b, `${model.features[3]}=NaN`],
      [c, `${model.features[0]}=-Infinity`],
      [d, `expects ${model.featureCount}`],
    ] as const) {
      expect(r!.ok).toBe(false);
      if (r!.ok) continue;
      expect(r!.error.code).toBe("ATT_MODEL_INVALID_INPUT");
      expect(r!.error.retryable).toBe(false);
      expect(r!.error.message).toContain(text);
    }
    const flat = new Float32Array(2 * model.featureCount);
    flat[model.featureCount + 5] = NaN;
    await expect(model.scoreRows(flat, 2)).rejects.toMatchObject({
      code: "ATT_MODEL_INVALID_INPUT",
      message: expect.stringContaining("row 1"),
    });
    expect(() => model.explain(nan)).toThrow(/not finite/);
  });

  it("gives the same scores (to float32 rounding) whatever the onnxruntime session options", async () => {
    const rows = randomRows(readForest(model.dir), 200, 3);
    const expected = await model.scoreBatch(rows);
    const other = await loadModel(model.dir, {
      session: {
        intraOpThreads: 2,
        interOpThreads: 2,
        executionMode: "parallel",
        graphOptimizationLevel: "disabled",
        allowSpinning: true,
      },
    });
    try {
      // Threads sum the trees in another order: float32 rounding may differ, nothing else.
      const got = await other.scoreBatch(rows);
      got.forEach((r, i) => {
        const e = expected[i]!;
        if (!r.ok || !e.ok) throw new Error(`row ${i} not scored`);
        expect(Math.abs(r.score - e.score)).toBeLessThan(1e-6);
        expect(r.anomalous).toBe(e.anomalous);
      });
    } finally {
      await other.close();
    }
  });

  it("applies a threshold override instead of the card's", async () => {
    const strict = await loadModel(model.dir, { threshold: 0.01 });
    try {
      const [r] = await strict.scoreBatch([new Float32Array(model.featureCount)]);
      expect(strict.threshold).toBe(0.01);
      expect(r).toMatchObject({ ok: true, anomalous: true });
    } finally {
      await strict.close();
    }
  });

  it("refuses to score after close", async () => {
    const m = await loadModel(model.dir);
    await m.close();
    await expect(m.scoreBatch([new Float32Array(m.featureCount)])).rejects.toMatchObject({
      code: "ATT_MODEL_CLOSED",
    });
  });
});
