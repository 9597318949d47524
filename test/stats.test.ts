import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { ALERT_IDS, serializeFinding, type Finding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { binomialTest } from "../src/monitor/binomial.js";
import { buildInvalidFinding, buildScoredFinding } from "../src/sink/findings.js";
import { EXPORT_ID_COLUMNS } from "../src/tools/stats/export-features.js";
import { runStats, type StatsIo } from "../src/tools/stats/run.js";
import { parseTime } from "../src/tools/stats/time.js";
import { findChromium, launchChromium } from "./helpers/chromium.js";
import { connectedProducer, createTestTopic } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { rng } from "./helpers/rng.js";
import { sink } from "./helpers/sink.js";
import { keepScreenshot, watchPage } from "./helpers/report-page.js";

const VERSION = "1671000000";
const FEATURES = ["USDC_transfers", "USDC_value", "account_active_period_in_minutes", "transfer_counts"];
const MIN = 60_000;

const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

function tx(i: number, block: number): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: block,
    blockHash: hex(block, 32),
    blockTimestamp: 1_700_000_000 + block * 12,
    txHash: hex(0x100000 + i, 32),
    txIndex: i % 200,
    from: hex(0x5000 + (i % 97), 20),
    to: hex(0x6000, 20),
    transfers: [
      { logIndex: 0, token: hex(0x7000, 20), from: hex(0x5000, 20), to: hex(0x6000, 20), value: "1000" },
    ],
    observedAt: 0,
  };
}

function scored(i: number, block: number, score: number, r: () => number, version = VERSION): Finding {
  const anomalous = score >= 0.5;
  return buildScoredFinding(
    {
      tx: tx(i, block),
      features: {
        USDC_transfers: 1 + Math.floor(r() * 3),
        USDC_value: Number((r() * 5000).toFixed(6)),
        account_active_period_in_minutes: Number((r() * 1e6).toFixed(4)),
        transfer_counts: 1 + Math.floor(r() * 4),
      },
      maxSingleTokenName: "USDC",
      tokenTypes: ["USDC"],
      score,
      anomalous,
      explanations: anomalous
        ? [{ feature: "account_active_period_in_minutes", value: 3, contribution: 0.05 }]
        : [],
      featureTimeSec: 0.001,
      modelTimeSec: 0.0001,
    },
    { version, threshold: 0.5 },
  );
}

function writeCard(dir: string, version = VERSION): void {
  mkdirSync(dir, { recursive: true });
  const cuts = Array.from({ length: 49 }, (_, i) => Number((0.02 + i * 0.02).toFixed(2)));
  // Training: scores uniform over 0.30–0.50 except a 1 % tail in 0.50–0.60.
  const counts = cuts.map(() => 0).concat([0]);
  for (let b = 15; b < 25; b++) counts[b] = 990;
  for (let b = 25; b < 30; b++) counts[b] = 20;
  const n = counts.reduce((a, c) => a + c, 0);
  writeFileSync(
    join(dir, "model.json"),
    JSON.stringify({
      version,
      threshold: 0.5,
      features: FEATURES,
      training: {
        n_rows: n,
        anomaly_rate: 100 / n,
        score_histogram: { edges: [0.3, ...cuts, 0.6], counts },
        feature_histograms: {
          transfer_counts: { edges: [1, 1, 2, 3, 4], counts: [2500, 2500, 2500, 2500] },
        },
      },
    }),
  );
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "att-stats-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn(
    `${process.env.CI ? "FAIL" : "SKIP"} test/stats.test.ts "renders the HTML report's plots": no Chromium found. ` +
      "`npm test` installs Debian's chromium (deploy/local/stack.sh install-browser); or set ATT_CHROMIUM to a Chromium binary.",
  );
}
const CHART_PROBE = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "helpers", "chart-probe.js"),
  "utf8",
);

interface RenderedChart {
  width: number;
  height: number;
  bars: { fill: string; title: string; height: number }[];
  points: { fill: string; title: string; y: number }[];
  lines: { stroke: string; length: number; width: number }[];
}

const ENV = { ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","), ATT_LOG_LEVEL: "warn" };

interface Expected {
  live: Map<string, Finding>;
  t0: number;
  t1: number;
}

/**
 * Fills a 3-partition findings topic the way the score stage would over an hour, plus noise
 * the report must ignore: findings before and after the range, an aborted transaction,
 * re-deliveries, reorg retractions (tombstones, one of them later re-scored), another model
 * version and a MODEL-DRIFT finding. Returns the findings that must be counted.
 */
async function fillTopic(topic: string): Promise<Expected> {
  const r = rng(7);
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 3 * 60 * MIN;
  const t1 = t0 + 60 * MIN;
  const live = new Map<string, Finding>();
  const plain = await connectedProducer();
  const txp = await connectedProducer({
    transactionalId: `${topic}-tx`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const msg = (f: Finding | null, key: string, ts: number, headers?: Record<string, string>) => ({
    key,
    value: f ? serializeFinding(f) : null,
    timestamp: String(ts),
    ...(headers ? { headers } : {}),
  });

  // Before the range: must not count.
  const before = Array.from({ length: 40 }, (_, i) => scored(900_000 + i, 100, 0.7, r));
  await plain.send({ topic, messages: before.map((f, i) => msg(f, f.uniqueKey, t0 - 30 * MIN + i)) });

  // In the range: 2,000 scored + 15 invalid over 100 blocks, in committed transactions of 200.
  const inRange: Finding[] = [];
  for (let i = 0; i < 2000; i++) {
    const block = 1000 + Math.floor(i / 20);
    const anomalous = r() < 0.012;
    const score = anomalous ? 0.5 + r() * 0.25 : 0.3 + r() * 0.1999;
    inRange.push(scored(i, block, Number(score.toFixed(6)), r));
  }
  for (let i = 0; i < 15; i++) {
    inRange.push(
      buildInvalidFinding(
        {
          tx: tx(5000 + i, 1000 + i),
          code: "ATT_ENRICHMENT_MISSING",
          reason: "rate limited",
          featureTimeSec: 0.01,
        },
        { version: VERSION, threshold: 0.5 },
      ),
    );
  }
  let ts = t0 + MIN;
  for (let i = 0; i < inRange.length; i += 200) {
    const t = await txp.transaction();
    await t.send({
      topic,
      messages: inRange.slice(i, i + 200).map((f) => msg(f, f.uniqueKey, (ts += 1000))),
    });
    await t.commit();
  }
  for (const f of inRange) live.set(f.uniqueKey, f);

  // An aborted transaction: read_committed never shows it.
  const aborted = await txp.transaction();
  await aborted.send({
    topic,
    messages: Array.from({ length: 30 }, (_, i) => scored(700_000 + i, 1050, 0.9, r)).map((f) =>
      msg(f, f.uniqueKey, (ts += 10)),
    ),
  });
  await aborted.abort();

  // Re-deliveries of 10 findings (same key, same value).
  const redelivered = inRange.slice(100, 110);
  await plain.send({ topic, messages: redelivered.map((f) => msg(f, f.uniqueKey, (ts += 10))) });

  // Reorg: four anomalous findings retracted; one of them is re-scored in another block.
  const anomalies = inRange.filter((f) => f.alertId === ALERT_IDS.anomalous);
  const retracted = anomalies.slice(0, 4);
  await plain.send({
    topic,
    messages: retracted.map((f) => msg(null, f.uniqueKey, (ts += 10), { "att-retraction": "reorg" })),
  });
  for (const f of retracted) live.delete(f.uniqueKey);
  const rescored = {
    ...retracted[0]!,
    source: { ...retracted[0]!.source, blocks: [{ chainId: 1, hash: hex(1, 32), number: 1099 }] },
  };
  await plain.send({ topic, messages: [msg(rescored, rescored.uniqueKey, (ts += 10))] });
  live.set(rescored.uniqueKey, rescored);

  // Another model version (a shadow) and a MODEL-DRIFT finding of ours.
  const shadow = Array.from({ length: 5 }, (_, i) => scored(i, 1001, 0.45, r, "shadow-v2"));
  await plain.send({ topic, messages: shadow.map((f) => msg(f, f.uniqueKey, (ts += 10))) });
  const drift: Finding = {
    name: "Model Drift Detected",
    description: "test",
    alertId: ALERT_IDS.drift,
    protocol: "ethereum",
    severity: "Medium",
    type: "Degraded",
    metadata: {
      model_version: VERSION,
      window_index: "3",
      window_end: new Date(ts).toISOString(),
      reasons: '["anomaly rate"]',
    },
    addresses: [],
    labels: [],
    uniqueKey: "0xdrift",
    source: { chains: [{ chainId: 1 }] },
    timestamp: new Date(ts).toISOString(),
  };
  await plain.send({ topic, messages: [msg(drift, drift.uniqueKey, (ts += 10))] });
  // Not a finding at all: reported, not fatal.
  await plain.send({ topic, messages: [{ key: "junk", value: "{not json", timestamp: String((ts += 10)) }] });
  expect(ts).toBeLessThan(t1);

  // Just after the range: a late retraction of a finding inside it applies; a new finding does not count.
  const late = anomalies[4]!;
  await plain.send({
    topic,
    messages: [
      msg(null, late.uniqueKey, t1 + 10_000, { "att-retraction": "reorg" }),
      msg(scored(600_000, 1200, 0.3, r), "0xlate", t1 + 20_000),
    ],
  });
  live.delete(late.uniqueKey);

  // After the range: must not count.
  const after = Array.from({ length: 25 }, (_, i) => scored(800_000 + i, 5000, 0.7, r));
  await plain.send({ topic, messages: after.map((f, i) => msg(f, f.uniqueKey, t1 + 30 * MIN + i)) });
  return { live, t0, t1 };
}

describe("att stats", () => {
  it("reports counts, rates, the what-if table and an offline HTML file over a real findings topic", async () => {
    const topic = await createTestTopic("stats-findings", 3);
    const { live, t0, t1 } = await fillTopic(topic);
    const dir = tmp();
    writeCard(join(dir, "model"));
    const stdout = sink();
    const stderr = sink();
    const io: StatsIo = { env: ENV, stdout, stderr };
    const report = await runStats(
      {
        from: new Date(t0).toISOString(),
        to: new Date(t1).toISOString(),
        topic,
        modelVersion: VERSION,
        model: join(dir, "model"),
        html: join(dir, "report.html"),
        exportFeatures: join(dir, "rows.csv"),
        json: true,
      },
      io,
    );

    // Ground truth from what was written.
    const all = [...live.values()];
    const normal = all.filter((f) => f.alertId === ALERT_IDS.normal).length;
    const anomalous = all.filter((f) => f.alertId === ALERT_IDS.anomalous).length;
    const invalid = all.filter((f) => f.alertId === ALERT_IDS.invalid).length;
    const scores = all
      .filter((f) => f.alertId !== ALERT_IDS.invalid)
      .map((f) => Number(f.metadata.anomaly_score));
    expect(anomalous).toBeGreaterThan(10);

    expect(report.reading.complete).toBe(true);
    expect(report.total).toBe(normal + anomalous + invalid);
    expect(Object.fromEntries(report.byAlertId.map((a) => [a.alertId, a.count]))).toEqual({
      [ALERT_IDS.normal]: normal,
      [ALERT_IDS.anomalous]: anomalous,
      [ALERT_IDS.invalid]: invalid,
    });
    expect(report.bySeverity.find((s) => s.severity === "Critical")?.count).toBe(anomalous);
    expect(report.reading.retracted).toBe(5);
    expect(report.reading.duplicates).toBe(10); // the re-scored finding follows its tombstone: new, not a duplicate
    expect(report.reading.otherVersions).toBe(5);
    expect(report.reading.unparseable).toBe(1);
    expect(report.anomalyRate).toBeCloseTo(anomalous / (normal + anomalous), 12);
    expect(report.invalidRate).toBeCloseTo(invalid / report.total, 12);
    expect(report.training?.anomalyRate).toBeCloseTo(0.01, 12);
    const z = (anomalous - scores.length * 0.01) / Math.sqrt(scores.length * 0.01 * 0.99);
    expect(report.rateTest?.z).toBeCloseTo(z, 9);
    expect(report.rateTest?.pValue).toBeCloseTo(binomialTest(anomalous, scores.length, 0.01).pValue, 12);

    // What-if: anomalies at each threshold recounted from the raw scores.
    expect(report.whatIf.map((w) => w.threshold)).toEqual([
      0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6,
    ]);
    for (const w of report.whatIf) {
      expect(w.anomalies).toBe(scores.filter((s) => s >= w.threshold).length);
      expect(w.rate).toBeCloseTo(w.anomalies / scores.length, 12);
    }
    expect(report.whatIf.find((w) => w.current)?.threshold).toBe(0.5);
    // Training rate at 0.46 from the card's histogram: bins 0.46–0.50 (2 × 990) plus the tail (100).
    expect(report.whatIf.find((w) => w.threshold === 0.46)?.trainingRate).toBeCloseTo(2080 / 10_000, 9);

    expect(report.scoreHistogram.counts.reduce((a, b) => a + b, 0)).toBe(scores.length);
    expect(report.topAnomalies[0]!.score).toBe(Math.max(...scores));
    expect(report.driftFindings).toHaveLength(1);
    expect(report.overBlocks.reduce((a, b) => a + b.scored, 0)).toBe(scores.length);
    expect(JSON.parse(stdout.text()).total).toBe(report.total);

    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(html).toContain("Anomaly rate over blocks");
    expect(html).toContain(report.topAnomalies[0]!.txHash);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|src=/i);

    // Feature export: the scored live findings, values exactly as the metadata carried them.
    const lines = readFileSync(join(dir, "rows.csv"), "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe([...EXPORT_ID_COLUMNS, ...FEATURES].join(","));
    expect(lines).toHaveLength(1 + scores.length);
    const byHash = new Map(lines.slice(1).map((l) => [l.split(",")[0], l.split(",")]));
    const sample = all.find((f) => f.alertId === ALERT_IDS.anomalous)!;
    const row = byHash.get(sample.source.transactions![0]!.hash)!;
    expect(row.slice(EXPORT_ID_COLUMNS.length)).toEqual(FEATURES.map((n) => sample.metadata[n]));
    expect(row[4]).toBe("ANOMALY");
    for (const f of all.filter((x) => x.alertId === ALERT_IDS.invalid))
      expect(byHash.has(f.source.transactions![0]!.hash)).toBe(false);
  });

  // In CI (where `npm test` installs Chromium) a missing browser fails the test instead of skipping it.
  it.skipIf(!CHROMIUM && !process.env.CI)(
    "renders the HTML report's plots with their data in headless Chromium",
    async () => {
      if (!CHROMIUM)
        throw new Error("No Chromium: `npm test` installs it (deploy/local/stack.sh install-browser)");
      const topic = await createTestTopic("stats-html", 3);
      const { t0, t1 } = await fillTopic(topic);
      const dir = tmp();
      writeCard(join(dir, "model"));
      const html = join(dir, "report.html");
      const report = await runStats(
        { from: String(t0), to: String(t1), topic, modelVersion: VERSION, model: join(dir, "model"), html },
        { env: ENV, stdout: sink(), stderr: sink() },
      );

      const browser = await launchChromium(CHROMIUM);
      const page = await browser.newPage();
      await page.setViewport({ width: 1000, height: 900 });
      const { requests, errors } = watchPage(page, { consoleErrors: true });
      await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
      const charts = (await page.evaluate(CHART_PROBE)) as Record<string, RenderedChart>;
      await keepScreenshot(page, "stats-report.png");
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);

      // Score histogram: one production bar per bin shown, drawn with height exactly where the
      // report counted scores, the tallest over the most populated bin; training bars beside them.
      const hist = charts["Score distribution"]!;
      expect(hist.width).toBeGreaterThan(300);
      expect(hist.height).toBeGreaterThan(150);
      const { edges, counts } = report.scoreHistogram;
      const shown = (b: RenderedChart["bars"][number]) => b.title.match(/^production (\d\.\d\d)–/)?.[1];
      const prod = hist.bars.filter((b) => b.title.startsWith("production "));
      const filled = new Set(counts.flatMap((c, i) => (c > 0 ? [edges[i]!.toFixed(2)] : [])));
      expect(
        prod
          .filter((b) => b.height > 0.5)
          .map(shown)
          .sort(),
      ).toEqual([...filled].sort());
      const tallest = prod.reduce((a, b) => (b.height > a.height ? b : a));
      const most = counts.indexOf(Math.max(...counts));
      expect(shown(tallest)).toBe(edges[most]!.toFixed(2));
      expect(
        hist.bars.filter((b) => b.title.startsWith("training ") && b.height > 0.5).length,
      ).toBeGreaterThan(3);

      // Anomaly rate over blocks: a drawn line through one point per block bin, highest where the
      // report's rate is highest, beside the training rate.
      const rate = charts["Anomaly rate over blocks"]!;
      const line = rate.lines.find((l) => l.stroke === "#c0392b")!;
      expect(line.length).toBeGreaterThan(100);
      expect(line.width).toBeGreaterThan(rate.width / 2);
      const pts = rate.points.filter((p) => p.title.startsWith("production anomaly rate @ "));
      expect(pts).toHaveLength(report.overBlocks.length);
      const top = pts.reduce((a, b) => (b.y < a.y ? b : a));
      const maxRate = Math.max(...report.overBlocks.map((b) => b.rate ?? 0));
      const peaks = report.overBlocks
        .filter((b) => b.rate === maxRate)
        .map((b) => String(Math.round((b.fromBlock + b.toBlock) / 2)));
      expect(peaks).toContain(top.title.match(/@ (\d+):/)![1]);
      expect(rate.lines.some((l) => l.stroke === "#777" && l.length > 100)).toBe(true);

      // What-if: one point per threshold of the table, production and training.
      const whatIf = charts["What if the threshold were…"]!;
      expect(whatIf.points.filter((p) => p.title.startsWith("production @ "))).toHaveLength(
        report.whatIf.length,
      );
      expect(whatIf.lines.filter((l) => l.length > 100)).toHaveLength(2);
    },
    120_000,
  );

  it("prints terminal tables and finds the model card in the registry by the findings' version", async () => {
    const topic = await createTestTopic("stats-tables", 1);
    const { t0, t1 } = await fillTopic(topic);
    const dir = tmp();
    writeCard(join(dir, "registry", "some-folder"));
    const stdout = sink();
    const report = await runStats(
      { from: String(t0), to: String(t1), topic, modelVersion: VERSION },
      { env: { ...ENV, ATT_MODEL_REGISTRY: join(dir, "registry") }, stdout, stderr: sink() },
    );
    expect(report.training?.version).toBe(VERSION);
    const text = stdout.text();
    expect(text).toContain("Findings by alert id");
    expect(text).toContain("What if the threshold were");
    expect(text).toMatch(/0\.50 \(current\)/);
    expect(text).toContain("binomial test");
    expect(text).toContain(report.topAnomalies[0]!.txHash);
  });

  it("mixes model versions only with a note, and refuses to export features across them", async () => {
    const topic = await createTestTopic("stats-mixed", 1);
    const { t0, t1 } = await fillTopic(topic);
    const dir = tmp();
    const io = { env: { ...ENV, ATT_MODEL_REGISTRY: join(dir, "none") }, stdout: sink(), stderr: sink() };
    const range = { from: String(t0), to: String(t1), topic };
    const report = await runStats(range, io);
    expect(report.versions.map((v) => v.version).sort()).toEqual([VERSION, "shadow-v2"]);
    expect(report.notes.join(" ")).toMatch(/2 model versions/);
    expect(report.training).toBeNull();
    await expect(runStats({ ...range, exportFeatures: join(dir, "x.csv") }, io)).rejects.toThrow(
      /2 model versions/,
    );
  });

  it("waits for a transaction open when reading began, and names one still open after the wait", async () => {
    const topic = await createTestTopic("stats-open-tx", 1);
    const r = rng(11);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * MIN;
    const plain = await connectedProducer();
    const txp = await connectedProducer({
      transactionalId: `${topic}-tx`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    let i = 0;
    const next = (n: number) =>
      Array.from({ length: n }, () => {
        const f = scored(i, 1000 + i, 0.3, r);
        return { key: f.uniqueKey, value: serializeFinding(f), timestamp: String(t0 + 1000 * ++i) };
      });
    const io = { env: { ...ENV, ATT_STATS_STABLE_WAIT_MS: "30000" }, stdout: sink(), stderr: sink() };
    const range = { from: String(t0), to: String(t0 + 30 * MIN), topic, json: true };

    // 10 findings, then a transaction with 3 that commits only while `att stats` waits, then 2
    // more written outside it: all 15 were written before reading began.
    await plain.send({ topic, messages: next(10) });
    const open = await txp.transaction();
    await open.send({ topic, messages: next(3) });
    await plain.send({ topic, messages: next(2) });
    const committing = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => open.commit());
    const waited = await runStats(range, io);
    await committing;
    expect(waited.total).toBe(15);
    expect(waited.reading.openTransactions).toEqual([]);
    expect(waited.notes.join(" ")).not.toMatch(/still open/);

    // A transaction that stays open past ATT_STATS_STABLE_WAIT_MS: the 4 records behind its
    // start (3 of it, 1 after it) are named, not read, and not waited for forever.
    const stuck = await txp.transaction();
    await stuck.send({ topic, messages: next(3) });
    await plain.send({ topic, messages: next(1) });
    const short = { ...io, env: { ...ENV, ATT_STATS_STABLE_WAIT_MS: "500" } };
    const partial = await runStats(range, short);
    await stuck.abort();
    expect(partial.total).toBe(15);
    expect(partial.reading.openTransactions).toEqual([
      { partition: 0, stableOffset: "16", highWatermark: "20" },
    ]);
    expect(partial.notes.join(" ")).toMatch(
      /4 records on partition\(s\) 0 were behind a transaction still open/,
    );
  });

  it("reports an empty range without reading, and names a missing topic", async () => {
    const topic = await createTestTopic("stats-empty", 2);
    const io = { env: ENV, stdout: sink(), stderr: sink() };
    const report = await runStats({ from: "-2h", to: "-1h", topic }, io);
    expect(report.total).toBe(0);
    expect(report.anomalyRate).toBeNull();
    expect(report.reading.complete).toBe(true);
    await expect(runStats({ topic: uniqueName("no-such-topic") }, io)).rejects.toThrow(/does not exist/);
  });

  it("parses times as ISO, unix seconds or milliseconds, now and relative offsets", () => {
    const now = Date.parse("2026-11-02T00:00:00Z");
    expect(parseTime("2026-11-01T00:00:00Z", "--from", now)).toBe(Date.parse("2026-11-01T00:00:00Z"));
    expect(parseTime("1700000000", "--from", now)).toBe(1_700_000_000_000);
    expect(parseTime("1700000000123", "--from", now)).toBe(1_700_000_000_123);
    expect(parseTime("-24h", "--from", now)).toBe(now - 86_400_000);
    expect(parseTime("now", "--to", now)).toBe(now);
    expect(() => parseTime("yesterday", "--from", now)).toThrow(/Invalid --from/);
    // Date.parse's legacy fallback would read these as 2001-01-01 and 2020-01-01.
    expect(() => parseTime("-1", "--from", now)).toThrow(/Invalid --from: got "-1"/);
    expect(() => parseTime("hello 2020", "--to", now)).toThrow(/Invalid --to/);
    expect(parseTime("2026-11-01", "--from", now)).toBe(Date.parse("2026-11-01"));
  });
});
