import { createRequire } from "node:module";
import type * as FortaSdk from "forta-agent";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ALERT_IDS, parseFinding, serializeFinding, toFortaSdkInput } from "../src/contracts/finding.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { binomialLowerTail, binomialTest, binomialUpperTail } from "../src/monitor/binomial.js";
import { parseMonitorCard, type MonitorCard } from "../src/monitor/card.js";
import { createDriftMonitor, createDriftMonitorFromConfig } from "../src/monitor/drift.js";
import { psi } from "../src/monitor/psi.js";
import { buildDriftReference } from "../src/monitor/reference.js";
import { metricValue } from "./helpers/metrics.js";
import { rng } from "./helpers/rng.js";

const require = createRequire(import.meta.url);
const { Finding } = require("forta-agent") as typeof FortaSdk;

function normal(r: () => number, mean: number, sd: number): number {
  const u = Math.max(r(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Histogram in the card's convention from explicit cuts. */
function histogram(values: number[], cuts: number[]): { edges: number[]; counts: number[] } {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < cuts.length && cuts[i]! < v) i++;
    counts[i]! += 1;
  }
  return { edges: [Math.min(...values), ...cuts, Math.max(...values)], counts };
}

function quantileCuts(values: number[], levels: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const cuts = levels.map((q) => sorted[Math.floor(q * (sorted.length - 1))]!);
  return [...new Set(cuts)].filter((c) => c < sorted[sorted.length - 1]!);
}

const FEATURES = ["account_active_period_in_minutes", "transfer_counts", "USDC_value"];
const SCORE_CUTS = Array.from({ length: 49 }, (_, i) => Number((0.02 + i * 0.02).toFixed(2)));

/** One scored transaction as the score stage would see it: a score and its feature row. */
interface Sample {
  score: number;
  row: number[];
}

function draw(
  r: () => number,
  opts: { scoreMean?: number; extraAnomalyRate?: number; ageScale?: number } = {},
): Sample {
  const anomalous = r() < (opts.extraAnomalyRate ?? 0);
  const score = anomalous
    ? 0.6 + 0.05 * r()
    : Math.min(0.99, Math.max(0.25, normal(r, opts.scoreMean ?? 0.4, 0.0376)));
  const age = -Math.log(Math.max(r(), 1e-12)) * 50_000 * (opts.ageScale ?? 1);
  const transfers = 1 + Math.floor(-Math.log(Math.max(r(), 1e-12)) * 1.5);
  const usdc = r() < 0.3 ? Math.exp(normal(r, 6, 2)) : 0;
  return { score, row: [age, transfers, usdc] };
}

/** A model card whose training statistics come from 20,000 draws of the "normal traffic" generator. */
function trainingCard(): MonitorCard {
  const r = rng(1);
  const train = Array.from({ length: 20_000 }, () => draw(r));
  const scores = train.map((s) => s.score);
  const feature_histograms: Record<string, { edges: number[]; counts: number[] }> = {};
  FEATURES.forEach((name, j) => {
    const col = train.map((s) => s.row[j]!);
    feature_histograms[name] = histogram(
      col,
      quantileCuts(col, [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]),
    );
  });
  return parseMonitorCard({
    version: "1671000000",
    threshold: 0.5,
    features: FEATURES,
    training: {
      n_rows: train.length,
      anomaly_rate: scores.filter((s) => s >= 0.5).length / scores.length,
      score_histogram: histogram(scores, SCORE_CUTS),
      feature_histograms,
    },
  });
}

function batch(samples: Sample[]): { scores: Float32Array; rows: Float32Array } {
  const scores = Float32Array.from(samples.map((s) => s.score));
  const rows = new Float32Array(samples.length * FEATURES.length);
  samples.forEach((s, i) => rows.set(s.row, i * FEATURES.length));
  return { scores, rows };
}

const card = trainingCard();

describe("the binomial test behind the anomaly-rate alarm", () => {
  it("matches direct summation of the binomial distribution", () => {
    const n = 300;
    const p = 0.013;
    let pmf = Math.pow(1 - p, n);
    const cdf: number[] = [];
    let acc = 0;
    for (let k = 0; k <= 20; k++) {
      acc += pmf;
      cdf.push(acc);
      pmf *= ((n - k) / (k + 1)) * (p / (1 - p));
    }
    for (const k of [0, 1, 3, 4, 8, 15]) {
      expect(binomialLowerTail(k, n, p)).toBeCloseTo(cdf[k]!, 12);
      expect(binomialUpperTail(k, n, p)).toBeCloseTo(k === 0 ? 1 : 1 - cdf[k - 1]!, 12);
    }
  });

  it("calls the ATT bot's real day (589 anomalies in 158,352 scored, -4 % against 0.387 %) ordinary", () => {
    const t = binomialTest(589, 158_352, 0.00387);
    expect(t.z).toBeCloseTo(-0.96, 2);
    expect(t.pValue).toBeGreaterThan(0.3);
  });
});

describe("PSI", () => {
  it("is zero for identical distributions and large for a moved one", () => {
    expect(psi([1000, 2000, 3000, 4000], [100, 200, 300, 400])).toBeCloseTo(0, 3);
    expect(psi([40, 30, 20, 10], [10, 20, 30, 40])).toBeGreaterThan(0.5);
  });
});

describe("the drift monitor", () => {
  it("raises no alarm on windows drawn like the training data", async () => {
    const registry = new Registry();
    const drift = createDriftMonitor({ card, registry, windowSize: 10_000 });
    const r = rng(2);
    for (let w = 0; w < 3; w++) {
      const { scores, rows } = batch(Array.from({ length: 10_000 }, () => draw(r)));
      drift.observe(scores, rows);
      const report = drift.check();
      expect(report?.windowIndex).toBe(w);
      expect(report?.alarm).toBe(false);
      expect(report?.finding).toBeUndefined();
      expect(Math.abs(report!.rateTest.z)).toBeLessThan(4);
      expect(report!.scorePsi).toBeLessThan(0.05);
      expect(Math.max(...Object.values(report!.featurePsi))).toBeLessThan(0.05);
    }
    expect(drift.check()).toBeUndefined();
    expect(await metricValue(registry, "att_drift_alarm")).toBe(0);
    expect(await metricValue(registry, "att_drift_windows_total", { alarm: "false" })).toBe(3);
    expect(await metricValue(registry, "att_drift_findings_total")).toBe(0);
  });

  it("does not alarm on a 4 % relative wobble at the bot's daily volume, and does on a doubling", () => {
    const rateOnly = parseMonitorCard({
      version: "v1",
      threshold: 0.5,
      features: FEATURES,
      training: { anomaly_rate: 0.00387 },
    });
    const day = 158_352;
    const window = (anomalies: number) => {
      const drift = createDriftMonitor({ card: rateOnly, windowSize: day });
      const scores = new Float32Array(day).fill(0.4);
      scores.fill(0.6, 0, anomalies);
      drift.observe(scores);
      return drift.check()!;
    };
    const wobble = window(589);
    expect(wobble.alarm).toBe(false);
    expect(wobble.rateTest.z).toBeCloseTo(-0.96, 2);
    const doubled = window(1226);
    expect(doubled.rateAlarm).toBe(true);
    expect(doubled.rateTest.z).toBeGreaterThan(20);
    expect(doubled.finding?.alertId).toBe(ALERT_IDS.drift);
  });

  it("uses the exact tail, not the normal one, when few anomalies are expected", () => {
    // 2,000 rows at 0.387 % expect 7.7 anomalies; 19 gives z ≈ 4.1 but the exact two-sided
    // p ≈ 9e-4 is nowhere near the 6.3e-5 that z = 4 stands for.
    const rateOnly = parseMonitorCard({
      version: "v1",
      threshold: 0.5,
      features: FEATURES,
      training: { anomaly_rate: 0.00387 },
    });
    const drift = createDriftMonitor({ card: rateOnly, windowSize: 2000 });
    const scores = new Float32Array(2000).fill(0.4);
    scores.fill(0.6, 0, 19);
    drift.observe(scores);
    const r = drift.check()!;
    expect(r.rateTest.z).toBeGreaterThan(4);
    expect(r.rateTest.pValue).toBeGreaterThan(r.alpha);
    expect(r.alarm).toBe(false);
  });

  it("alarms on a real shift of the anomaly rate and emits exactly one MODEL-DRIFT finding per window", async () => {
    const registry = new Registry();
    const drift = createDriftMonitor({ card, registry, windowSize: 10_000, scope: "att-score", chainId: 1 });
    const r = rng(3);
    // Two shifted windows fed in uneven batches that straddle the window boundary.
    const samples = Array.from({ length: 20_000 }, () => draw(r, { extraAnomalyRate: 0.006 }));
    for (const [from, to] of [
      [0, 3000],
      [3000, 12_500],
      [12_500, 20_000],
    ] as const) {
      const { scores, rows } = batch(samples.slice(from, to));
      drift.observe(scores, rows);
    }
    const findings = drift.takeFindings();
    expect(findings).toHaveLength(2);
    expect(drift.takeFindings()).toHaveLength(0);
    expect(drift.check()).toBeUndefined();

    const [f0, f1] = findings as [NonNullable<(typeof findings)[0]>, NonNullable<(typeof findings)[0]>];
    expect(f0.alertId).toBe("MODEL-DRIFT");
    expect(f0.severity).toBe("Medium");
    expect(f0.type).toBe("Degraded");
    expect(f0.metadata.window_index).toBe("0");
    expect(f1.metadata.window_index).toBe("1");
    expect(f0.uniqueKey).not.toBe(f1.uniqueKey);
    expect(Number(f0.metadata.anomaly_rate_z)).toBeGreaterThan(4);
    expect(Number(f0.metadata.anomaly_rate)).toBeGreaterThan(2 * Number(f0.metadata.training_anomaly_rate));
    expect(JSON.parse(f0.metadata.reasons!)[0]).toMatch(/^anomaly rate/);
    expect(Array.isArray(JSON.parse(f0.metadata.top_drifting_features!))).toBe(true);
    // Valid Forta finding, in our schema and through the SDK.
    expect(parseFinding(serializeFinding(f0))).toEqual(f0);
    expect(JSON.parse(Finding.fromObject(toFortaSdkInput(f0) as never).toString())).toMatchObject({
      alertId: "MODEL-DRIFT",
      severity: "Medium",
      type: "Degraded",
    });

    expect(await metricValue(registry, "att_drift_alarm")).toBe(1);
    expect(await metricValue(registry, "att_drift_findings_total")).toBe(2);
    expect(await metricValue(registry, "att_drift_anomaly_rate_z")).toBeGreaterThan(4);
  });

  it("gives the same window of the same model version and scope the same uniqueKey", () => {
    const run = () => {
      const drift = createDriftMonitor({ card, windowSize: 1000, scope: "replica-a", now: () => 0 });
      drift.observe(new Float32Array(1000).fill(0.7));
      return drift.takeFindings()[0]!;
    };
    expect(run().uniqueKey).toBe(run().uniqueKey);
    const other = createDriftMonitor({ card, windowSize: 1000, scope: "replica-b" });
    other.observe(new Float32Array(1000).fill(0.7));
    expect(other.takeFindings()[0]!.uniqueKey).not.toBe(run().uniqueKey);
  });

  it("names the drifting feature when one input distribution moves", async () => {
    const registry = new Registry();
    const drift = createDriftMonitor({ card, registry, windowSize: 10_000 });
    const r = rng(4);
    // Young accounts everywhere: account age shrinks tenfold, scores unchanged.
    const { scores, rows } = batch(Array.from({ length: 10_000 }, () => draw(r, { ageScale: 0.1 })));
    drift.observe(scores, rows);
    const report = drift.check()!;
    expect(report.featureAlarm).toBe(true);
    expect(report.rateAlarm).toBe(false);
    expect(report.topFeatures[0]!.feature).toBe("account_active_period_in_minutes");
    expect(report.finding?.metadata.top_drifting_features).toContain("account_active_period_in_minutes");
    const age = await metricValue(registry, "att_drift_feature_psi", {
      feature: "account_active_period_in_minutes",
    });
    const count = await metricValue(registry, "att_drift_feature_psi", { feature: "transfer_counts" });
    expect(age).toBeGreaterThan(0.25);
    expect(count).toBeLessThan(0.05);
  });

  it("alarms on a shifted score distribution", () => {
    const drift = createDriftMonitor({ card, windowSize: 10_000, featurePsiThreshold: 100 });
    const r = rng(5);
    const { scores } = batch(Array.from({ length: 10_000 }, () => draw(r, { scoreMean: 0.44 })));
    drift.observe(scores);
    const report = drift.check()!;
    expect(report.scorePsiAlarm).toBe(true);
    expect(report.scorePsi).toBeGreaterThan(0.25);
  });

  it("re-derives the training rate from the score histogram when the threshold is overridden", () => {
    const ref = buildDriftReference(card, { threshold: 0.46 });
    expect(ref.trainingRateExact).toBe(true);
    expect(ref.trainingAnomalyRate).toBeGreaterThan(card.training.anomaly_rate * 2);
  });

  it("is built from ATT_DRIFT_* configuration, and not at all when disabled", () => {
    const on = createDriftMonitorFromConfig(loadConfig({ ATT_DRIFT_WINDOW_SIZE: "500" }), {
      card,
      scope: "g",
    });
    expect(on?.windowSize).toBe(500);
    expect(
      createDriftMonitorFromConfig(loadConfig({ ATT_DRIFT_ENABLED: "false" }), { card, scope: "g" }),
    ).toBeUndefined();
  });

  it("refuses a card without training statistics, naming the field", () => {
    expect(() => parseMonitorCard({ version: "1", threshold: 0.5, features: ["a"], training: {} })).toThrow(
      /training\.anomaly_rate/,
    );
  });
});
