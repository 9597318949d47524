import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { scoreCsv } from "../src/model/cli/score.js";
import { readDefaultVersion } from "../src/model/registry.js";
import { jaccard, ranks, spearman, thresholdForRate } from "../src/tools/compare/metrics.js";
import { runCompare } from "../src/tools/compare/run.js";
import { simulateFeatureRows, writeRowsCsv } from "../src/tools/simulate/rows.js";
import { loadSimulationSources } from "../src/tools/simulate/sources.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { findChromium, launchChromium } from "./helpers/chromium.js";
import { keepScreenshot, watchPage } from "./helpers/report-page.js";
import { sink } from "./helpers/sink.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const REGISTRY = join(REPO, "models", "registry");
const A = readDefaultVersion(REGISTRY)!;
const B = "att-original-1795938162";
const ENV = { ATT_MODEL_REGISTRY: REGISTRY, ATT_LOG_LEVEL: "warn" };

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "att-compare-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** 3,000 simulated normal rows and 30 exploit rows (label column), as `att simulate --rows` writes them. */
async function rowsCsv(dir: string): Promise<string> {
  const config = loadConfig({ ...process.env, ...ENV });
  const sources = await loadSimulationSources(config);
  const card = sources.card!;
  const path = join(dir, "rows.csv");
  await writeRowsCsv(
    path,
    card.features,
    simulateFeatureRows({
      marginals: sources.marginals,
      tokens: sources.tokens,
      spec: { features: card.features, tokenMatch: card.token_match, tokens: card.tokens },
      seed: 11,
      rows: 3000,
      exploitRows: 30,
    }),
  );
  return path;
}

/** `att model score`'s own predictions of every row, by tx hash. */
async function predictions(
  model: string,
  input: string,
): Promise<Map<string, { score: number; anomalous: boolean }>> {
  const out = new Map<string, { score: number; anomalous: boolean }>();
  await scoreCsv({ dir: join(REGISTRY, model), input, explain: false, topK: 0 }, (line) => {
    const o = JSON.parse(line) as { id: string; score: number; prediction: string };
    out.set(o.id, { score: o.score, anomalous: o.prediction === "ANOMALY" });
  });
  return out;
}

describe("compare statistics", () => {
  it("ranks ties by their average, and Spearman, Jaccard and the target threshold give the textbook values", () => {
    expect([...ranks([10, 20, 20, 5])]).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(jaccard([true, true, false, false], [true, false, true, false])).toBeCloseTo(1 / 3, 12);
    expect(jaccard([false], [false])).toBeNull();
    // 10 % of 20 scores: the 2nd highest is the cut
    const scores = Array.from({ length: 20 }, (_, i) => i / 20);
    expect(thresholdForRate(scores, 0.1)).toEqual({ threshold: 0.9, achieved: 0.1 });
  });
});

describe("att model compare", () => {
  it("on a feature CSV: each model's anomalies, the overlap and the flips are exactly what att model score predicts, with precision and recall from the label column", async () => {
    const dir = tmp();
    const input = await rowsCsv(dir);
    const stdout = sink();
    const report = await runCompare(
      [A, B],
      { input, json: true, flips: "1000" },
      { env: ENV, stdout, stderr: sink() },
    );
    expect(JSON.parse(stdout.text())).toEqual(JSON.parse(JSON.stringify(report)));

    const pa = await predictions(A, input);
    const pb = await predictions(B, input);
    expect(report.rows).toBe(3030);
    expect(report.labelled).toBe(3030);
    expect(report.positives).toBe(30);
    const flaggedA = [...pa.values()].filter((p) => p.anomalous).length;
    const flaggedB = [...pb.values()].filter((p) => p.anomalous).length;
    expect(report.models.map((m) => m.anomalies)).toEqual([flaggedA, flaggedB]);
    expect(report.models[0]!.rate).toBeCloseTo(flaggedA / 3030, 12);
    expect(report.models[0]!.rateRatio).toBeCloseTo(flaggedA / 3030 / report.models[0]!.trainingRate!, 9);

    const ids = [...pa.keys()];
    const both = ids.filter((id) => pa.get(id)!.anomalous && pb.get(id)!.anomalous).length;
    const either = ids.filter((id) => pa.get(id)!.anomalous || pb.get(id)!.anomalous).length;
    expect(report.pairs[0]!.both).toBe(both);
    expect(report.pairs[0]!.jaccard).toBeCloseTo(both / either, 12);
    expect(report.flipCount).toBe(either - both);
    expect(report.flips).toHaveLength(either - both);
    for (const f of report.flips) {
      expect(f.sides.map((s) => s.flagged)).toEqual([pa.get(f.id)!.anomalous, pb.get(f.id)!.anomalous]);
      expect(f.sides[0]!.score).toBeCloseTo(pa.get(f.id)!.score, 6);
      // both models explain the row
      for (const s of f.sides) expect(s.explanation.length).toBeGreaterThan(0);
    }
    // labels: exploit rows are the attacks
    const exploits = readFileSync(input, "utf8")
      .split("\n")
      .filter((l) => l.split(",")[1] === "exploit")
      .map((l) => l.split(",")[0]!);
    const tp = exploits.filter((id) => pa.get(id)!.anomalous).length;
    expect(report.models[0]!.truePositives).toBe(tp);
    expect(report.models[0]!.recall).toBeCloseTo(tp / 30, 12);
    expect(report.models[0]!.precision).toBeCloseTo(tp / flaggedA, 12);
    // the threshold that would give each model its training rate on these rows
    for (const m of report.models) {
      const t = m.target!;
      expect(t.rate).toBe(m.trainingRate);
      const scores = [...(m.version === A ? pa : pb).values()].map((p) => p.score);
      expect(scores.filter((s) => s >= t.threshold).length / scores.length).toBeCloseTo(t.achieved, 12);
      expect(Math.abs(t.achieved - t.rate)).toBeLessThan(2 / 3030);
    }
    // Spearman over all rows, against the definition
    expect(report.pairs[0]!.spearman).toBeCloseTo(
      spearman(
        ids.map((id) => pa.get(id)!.score),
        ids.map((id) => pb.get(id)!.score),
      )!,
      6,
    );
  });

  it("refuses to compare fewer than two models", async () => {
    await expect(
      runCompare([A], { input: "x.csv" }, { env: ENV, stdout: sink(), stderr: sink() }),
    ).rejects.toThrow(/at least two models/);
  });

  const CHROMIUM = findChromium();
  it.skipIf(!CHROMIUM && !process.env.CI)(
    "writes a self-contained HTML report whose plots Chromium draws from the report's numbers",
    async () => {
      if (!CHROMIUM)
        throw new Error("No Chromium: `npm test` installs it (deploy/local/stack.sh install-browser)");
      const dir = tmp();
      const input = await rowsCsv(dir);
      const html = join(dir, "compare.html");
      const report = await runCompare([A, B], { input, html }, { env: ENV, stdout: sink(), stderr: sink() });
      const browser = await launchChromium(CHROMIUM);
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      const { requests, errors } = watchPage(page);
      await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
      const probe = readFileSync(
        join(dirname(fileURLToPath(import.meta.url)), "helpers", "chart-probe.js"),
        "utf8",
      );
      const charts = (await page.evaluate(probe)) as Record<
        string,
        {
          width: number;
          height: number;
          bars: { fill: string; title: string; height: number }[];
          points: { title: string }[];
        }
      >;
      await keepScreenshot(page, "compare-report.png");
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      const hist = charts["Score distributions"]!;
      expect(hist.width).toBeGreaterThan(300);
      // one bar per non-empty bin and model, the tallest of each model over its fullest bin
      report.models.forEach((m, i) => {
        const bars = hist.bars.filter((b) => b.title.startsWith(`${m.version} `));
        expect(bars).toHaveLength(report.histogram.counts[i]!.filter((c) => c > 0).length);
        const counts = report.histogram.counts[i]!;
        const top = counts.indexOf(Math.max(...counts));
        const tallest = bars.reduce((x, y) => (y.height > x.height ? y : x));
        expect(tallest.title).toContain(`${report.histogram.edges[top]!.toFixed(2)}–`);
      });
      // per model one bar of its anomaly rate and one of its training rate, in proportion
      const rates = charts["Anomaly rate against training rate"]!;
      expect(rates.bars.map((b) => b.title)).toEqual(
        report.models.flatMap((m) => [
          `${m.version} anomaly rate: ${(m.rate * 100).toFixed(3)}%`,
          `${m.version} training rate: ${(m.trainingRate! * 100).toFixed(3)}%`,
        ]),
      );
      const text = await page.content();
      expect(text).toContain("Jaccard");
      expect(text).toContain(report.flips[0]!.id);
    },
  );
});
