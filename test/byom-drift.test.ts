import { describe, expect, it } from "vitest";
import { parseMonitorCard } from "../src/monitor/card.js";
import { createDriftMonitor } from "../src/monitor/drift.js";
import { rng } from "./helpers/rng.js";

/**
 * Drift monitoring of an att-model/2 model (issue 15): it histograms the score whatever the score
 * means — here a decision function (threshold 0, scores of any sign) whose card calls the
 * training share at or above the threshold `positive_rate`.
 */

function gaussian(r: () => number, mean: number, sd: number): number {
  const u = Math.max(r(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

const edges = Array.from({ length: 21 }, (_, i) => -5 + i * 0.5);
/** Training reference: decision function ~ N(-2, 1); 2.3 % of rows at or above 0. */
function referenceHistogram(): { edges: number[]; counts: number[] } {
  const r = rng(1);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const v = Math.min(4.999, Math.max(-5, gaussian(r, -2, 1)));
    counts[Math.min(counts.length - 1, Math.floor((v + 5) / 0.5))]! += 1;
  }
  return { edges, counts };
}

const card = {
  format: "att-model/2",
  version: "fraud-1",
  threshold: 0,
  score: { kind: "decision_function", threshold: 0 },
  features: ["transfer_counts"],
  training: { n_rows: 100_000, positive_rate: 0.0228, score_histogram: referenceHistogram() },
};

describe("drift monitoring of a decision-function model", () => {
  it("accepts the card (threshold 0, positive_rate), stays quiet on training-like scores and alarms when they shift", () => {
    const parsed = parseMonitorCard(card);
    expect(parsed.threshold).toBe(0);
    expect(parsed.training.anomaly_rate).toBe(0.0228);

    const monitor = createDriftMonitor({ card: parsed, windowSize: 5_000, scope: "test" });
    const r = rng(2);
    const like = Float64Array.from({ length: 5_000 }, () => gaussian(r, -2, 1));
    monitor.observe(like);
    expect(monitor.takeFindings()).toEqual([]);

    const shifted = Float64Array.from({ length: 5_000 }, () => gaussian(r, -0.5, 1));
    monitor.observe(shifted);
    const [finding] = monitor.takeFindings();
    expect(finding?.alertId).toBe("MODEL-DRIFT");
    expect(finding!.metadata.model_version).toBe("fraud-1");
  });
});
