import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBatchScorer, loadModel, type Model } from "../src/score/model/index.js";
import { defaultModelDir, randomRows, readForest } from "./model-fixtures.js";

describe("the batch scorer", () => {
  let model: Model;
  let rows: Float32Array[];
  let expected: number[];
  beforeAll(async () => {
    model = await loadModel(defaultModelDir());
    rows = randomRows(readForest(model.dir), 40, 4);
    expected = (await model.scoreBatch(rows)).map((r) => (r.ok ? r.score : NaN));
  });
  afterAll(() => model?.close());

  it("lets concurrent callers share one model call, each getting its own row's score", async () => {
    const calls: number[] = [];
    const scorer = createBatchScorer(model, {
      maxBatchSize: 64,
      maxWaitMs: 20,
      onBatch: ({ rows: n }) => calls.push(n),
    });
    const results = await Promise.all(rows.slice(0, 10).map((r) => scorer.score(r)));
    expect(calls).toEqual([10]);
    expect(results.map((r) => r.score)).toEqual(expected.slice(0, 10));
    expect(
      results.every((r) => r.modelVersion === model.version && r.anomalous === r.score >= model.threshold),
    ).toBe(true);
    await scorer.close();
  });

  it("runs a batch as soon as maxBatchSize rows wait, without waiting for the timer", async () => {
    const calls: number[] = [];
    // A wait far beyond the test timeout: only the size trigger (and close) can run these.
    const scorer = createBatchScorer(model, {
      maxBatchSize: 4,
      maxWaitMs: 600_000,
      onBatch: ({ rows: n }) => calls.push(n),
    });
    const first = Promise.all(rows.slice(0, 8).map((r) => scorer.score(r)));
    expect((await first).map((r) => r.score)).toEqual(expected.slice(0, 8));
    expect(calls).toEqual([4, 4]);
    const straggler = scorer.score(rows[8]!);
    expect(scorer.pending).toBe(1);
    await scorer.close(); // flushes what waits
    expect((await straggler).score).toBe(expected[8]);
    expect(calls).toEqual([4, 4, 1]);
  });

  it("rejects only the promise of a row that cannot be scored", async () => {
    const scorer = createBatchScorer(model, { maxBatchSize: 64, maxWaitMs: 5 });
    const bad = new Float32Array(model.featureCount).fill(NaN);
    const settled = await Promise.allSettled([
      scorer.score(rows[0]!),
      scorer.score(bad),
      scorer.score(rows[1]!),
    ]);
    expect(settled[0]).toMatchObject({ status: "fulfilled", value: { score: expected[0] } });
    expect(settled[1]).toMatchObject({ status: "rejected", reason: { code: "ATT_MODEL_INVALID_INPUT" } });
    expect(settled[2]).toMatchObject({ status: "fulfilled", value: { score: expected[1] } });
    await scorer.close();
  });

  it("scores a consumer batch with one model call per maxBatchSize rows, in order", async () => {
    const calls: number[] = [];
    const scorer = createBatchScorer(model, {
      maxBatchSize: 16,
      maxWaitMs: 0,
      onBatch: ({ rows: n }) => calls.push(n),
    });
    const out = await scorer.scoreMany(rows);
    expect(calls).toEqual([16, 16, 8]);
    expect(out.map((o) => (o.ok ? o.score : NaN))).toEqual(expected);
    await scorer.close();
  });

  it("refuses work after close", async () => {
    const scorer = createBatchScorer(model, { maxBatchSize: 8, maxWaitMs: 0 });
    await scorer.close();
    await expect(scorer.score(rows[0]!)).rejects.toMatchObject({ code: "ATT_MODEL_CLOSED" });
    await expect(scorer.scoreMany(rows)).rejects.toMatchObject({ code: "ATT_MODEL_CLOSED" });
  });
});
