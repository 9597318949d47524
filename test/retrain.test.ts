import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { serializeFinding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { loadModel } from "../src/model/index.js";
import { readDefaultVersion } from "../src/model/registry.js";
import { buildDriftFinding, retrainCommand } from "../src/monitor/drift-finding.js";
import { buildInvalidFinding, buildScoredFinding } from "../src/sink/findings.js";
import { loadCompareInput } from "../src/tools/compare/run.js";
import { runRetrain } from "../src/tools/retrain/run.js";
import { simulateFeatureRows, type FeatureRow } from "../src/tools/simulate/rows.js";
import { loadSimulationSources } from "../src/tools/simulate/sources.js";
import { connectedProducer, createTestTopic } from "./helpers/kafka.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { sink } from "./helpers/sink.js";

const REGISTRY = fileURLToPath(new URL("../models/registry", import.meta.url));
const BASE = readDefaultVersion(REGISTRY)!;

function tx(row: FeatureRow, i: number): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 100 + i,
    blockHash: `0x${(100 + i).toString(16).padStart(64, "0")}`,
    blockTimestamp: 1_700_000_000 + i * 12,
    txHash: row.txHash,
    txIndex: 0,
    from: `0x${(0x5000 + i).toString(16).padStart(40, "0")}`,
    to: null,
    transfers: [],
    observedAt: 0,
  };
}

/** 400 simulated normal rows and 6 exploit rows as the findings the score stage writes, scored by the base model. */
async function windowOfFindings(env: Record<string, string>) {
  const config = loadConfig({ ...process.env, ...env });
  const sources = await loadSimulationSources(config);
  const card = sources.card!;
  const rows = [
    ...simulateFeatureRows({
      marginals: sources.marginals,
      tokens: sources.tokens,
      spec: { features: card.features, tokenMatch: card.token_match, tokens: card.tokens },
      seed: 21,
      rows: 400,
      exploitRows: 6,
    }),
  ];
  const model = await loadModel(join(REGISTRY, BASE));
  onTestFinished(() => model.close());
  const outcomes = await model.scoreBatch(
    rows.map((r) => Float32Array.from(model.features, (f) => r.named[f] ?? 0)),
  );
  const findings = rows.map((r, i) => {
    const o = outcomes[i]!;
    if (!o.ok) throw o.error;
    return buildScoredFinding(
      {
        tx: tx(r, i),
        features: Object.fromEntries(model.features.map((f) => [f, r.named[f] ?? 0])),
        maxSingleTokenName: "USDC",
        tokenTypes: [],
        score: o.score,
        anomalous: o.anomalous,
        explanations: [],
        featureTimeSec: 0,
        modelTimeSec: 0,
      },
      { version: BASE, threshold: model.threshold },
    );
  });
  return { rows, findings };
}

async function publish(
  topic: string,
  records: { key: string; value: string | Buffer | null }[],
): Promise<void> {
  const producer = await connectedProducer();
  try {
    await producer.send({ topic, messages: records });
  } finally {
    await producer.disconnect();
  }
}

describe("att model retrain", () => {
  it("trains on a window's findings without the true positives, with the base model's features and hyper-parameters, registers it beside the default, writes its CHANGELOG entry, and refuses a version that exists, a window too small and a window still ahead", async () => {
    const dir = mkdtempSync(join(tmpdir(), "att-retrain-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const registry = join(dir, "registry");
    cpSync(REGISTRY, registry, { recursive: true });
    const env = {
      ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      ATT_MODEL_REGISTRY: registry,
      ATT_LOG_LEVEL: "warn",
    };
    const { rows, findings } = await windowOfFindings(env);
    const topic = await createTestTopic("retrain-findings", 2);
    const verdictsTopic = await createTestTopic("retrain-verdicts", 1);
    const t0 = Date.now();
    // the window: the scored findings, an INVALID one and a MODEL-DRIFT one (never training rows)
    // INVALID even though it carries every feature: never a training row
    const invalid = buildInvalidFinding(
      {
        tx: { ...tx(rows[0]!, 999), txHash: `0x${"ab".repeat(32)}` },
        code: "ATT_FEATURES_INVALID",
        reason: "test",
        features: { ...rows[0]!.named },
        featureTimeSec: 0,
      },
      { version: BASE, threshold: 0.5 },
    );
    await publish(topic, [
      ...findings.map((f) => ({ key: f.uniqueKey, value: serializeFinding(f) })),
      { key: invalid.uniqueKey, value: serializeFinding(invalid) },
    ]);
    const exploits = rows.filter((r) => r.label === "exploit").map((r) => r.txHash.toLowerCase());
    const verdict = (hash: string, v: string) => ({
      key: `1:${hash}`,
      value: JSON.stringify({
        v: 1,
        chainId: 1,
        txHash: hash,
        verdict: v,
        analyst: "test",
        at: new Date().toISOString(),
      }),
    });
    // 4 true positives, one of them withdrawn again (tombstone); one false positive (kept)
    await publish(verdictsTopic, [
      ...exploits.slice(0, 4).map((h) => verdict(h, "true-positive")),
      verdict(exploits[4]!, "false-positive"),
      { key: `1:${exploits[3]}`, value: null },
    ]);
    const t1 = Date.now() + 1;
    const csv = join(dir, "rows.csv");
    const stdout = sink();
    const result = await runRetrain(
      {
        from: String(t0 - 1000),
        to: String(t1),
        topic,
        excludeVerdict: ["true-positive"],
        verdictsTopic,
        newVersion: "retrained-test-1",
        rows: csv,
        json: true,
      },
      { env, stdout, stderr: sink() },
    );
    expect(JSON.parse(stdout.text()).version).toBe("retrained-test-1");
    expect(result.excluded).toBe(3);
    expect(result.rows).toBe(406 - 3);
    const trained = readFileSync(csv, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",")[0]!.toLowerCase());
    expect(trained).toHaveLength(403);
    for (const h of exploits.slice(0, 3)) expect(trained).not.toContain(h);
    for (const h of exploits.slice(3)) expect(trained).toContain(h);

    // The new model: registered, loadable, the base's features and hyper-parameters, not the default.
    const base = JSON.parse(readFileSync(join(registry, BASE, "model.json"), "utf8"));
    const card = JSON.parse(readFileSync(join(registry, "retrained-test-1", "model.json"), "utf8"));
    expect(card.features).toEqual(base.features);
    expect(card.threshold).toBe(base.threshold);
    expect(card.tokens).toEqual(base.tokens);
    expect(card.source.params).toMatchObject({ n_estimators: 100, random_state: 42 });
    expect(card.training.n_rows).toBe(403);
    expect(readDefaultVersion(registry)).toBe(BASE);
    const fresh = await loadModel(join(registry, "retrained-test-1"));
    await fresh.close();

    // Its CHANGELOG entry, written by the command
    const changelog = readFileSync(join(registry, "CHANGELOG.md"), "utf8");
    const entry = changelog.slice(changelog.indexOf("## retrained-test-1"));
    expect(entry).toContain(
      `findings of ${topic} from ${new Date(t0 - 1000).toISOString()} to ${new Date(t1).toISOString()}; 403 rows, 3 transactions with verdict true-positive left out`,
    );
    expect(entry).toContain(
      `**Training anomaly rate at 0.5:** ${(card.training.anomaly_rate * 100).toFixed(3)} %`,
    );
    expect(entry).toContain(`**Compared with ${BASE}:** on the window's 403 transactions`);
    expect(entry).toContain(`Jaccard ${result.compare.pairs[0]!.jaccard!.toFixed(3)}`);
    expect(entry).toContain("`att model promote retrained-test-1`");

    // The same version again is refused; so is a window with too few rows.
    await expect(
      runRetrain(
        { from: String(t0 - 1000), to: String(t1), topic, newVersion: "retrained-test-1" },
        { env, stdout: sink(), stderr: sink() },
      ),
    ).rejects.toThrow(/already in the registry/);
    await expect(
      runRetrain(
        { from: String(t0 - 120_000), to: String(t0 - 60_000), topic, newVersion: "retrained-test-2" },
        { env, stdout: sink(), stderr: sink() },
      ),
    ).rejects.toThrow(/holds 0 scored transactions; at least 50/);
    expect(existsSync(join(registry, "retrained-test-2"))).toBe(false);
    // a window that ends more than a minute from now has not happened yet
    await expect(
      runRetrain(
        { from: String(t0), to: String(Date.now() + 300_000), topic, newVersion: "retrained-test-3" },
        { env, stdout: sink(), stderr: sink() },
      ),
    ).rejects.toThrow(/--to is in the future/);
  }, 180_000);

  it("a MODEL-DRIFT finding names the command that retrains on its window's findings", () => {
    const f = buildDriftFinding(
      {
        modelVersion: BASE,
        windowIndex: 7,
        size: 300,
        startedAt: "2026-12-06T21:52:10.114Z",
        endedAt: "2026-12-06T21:52:27.300Z",
        threshold: 0.5,
        anomalies: 10,
        anomalyRate: 10 / 300,
        trainingAnomalyRate: 0.0026,
        rateTest: { expected: 0.78, z: 10.4, pValue: 2e-8 },
        scorePsi: 2.9,
        topFeatures: [{ feature: "SHIB_value", psi: 4.2 }],
        reasons: ["anomaly rate 3.333% vs 0.263% in training"],
      } as never,
      { chainId: 1, scope: "" },
    );
    const command = `att model retrain --from 2026-12-06T21:52:10.114Z --to 2026-12-06T21:52:32.300Z --model-version ${BASE} --exclude-verdict true-positive`;
    expect(f.metadata.retrain_command).toBe(command);
    expect(
      retrainCommand({
        startedAt: "2026-12-06T21:52:10.114Z",
        endedAt: "2026-12-06T21:52:27.300Z",
        modelVersion: BASE,
      }),
    ).toBe(command);
    expect(f.description.endsWith(`Retrain on this window: ${command}`)).toBe(true);
  });
});

describe("att model compare over a range of findings", () => {
  it("labels the range with the analysts' verdicts: a true-positive and a false-positive verdict label their rows, a verdict overrides the labels file, other rows stay unlabelled", async () => {
    const verdictsTopic = await createTestTopic("compare-verdicts", 1);
    const env = {
      ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      ATT_VERDICTS_TOPIC: verdictsTopic,
      ATT_LOG_LEVEL: "warn",
    };
    const { rows, findings } = await windowOfFindings(env);
    const topic = await createTestTopic("compare-findings", 2);
    const t0 = Date.now();
    await publish(
      topic,
      findings.map((f) => ({ key: f.uniqueKey, value: serializeFinding(f) })),
    );
    const exploit = rows.find((r) => r.label === "exploit")!.txHash.toLowerCase();
    const normal = rows.find((r) => r.label !== "exploit")!.txHash.toLowerCase();
    const verdict = (hash: string, v: string) => ({
      key: `1:${hash}`,
      value: JSON.stringify({
        v: 1,
        chainId: 1,
        txHash: hash,
        verdict: v,
        analyst: "test",
        at: new Date().toISOString(),
      }),
    });
    // The exploit judged a false positive, a normal row judged an attack.
    await publish(verdictsTopic, [verdict(exploit, "false-positive"), verdict(normal, "true-positive")]);
    const dir = mkdtempSync(join(tmpdir(), "att-compare-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const labelsCsv = join(dir, "labels.csv");
    writeFileSync(labelsCsv, `tx_hash,label\n${exploit},exploit\n`);
    const card = JSON.parse(readFileSync(join(REGISTRY, BASE, "model.json"), "utf8")) as {
      features: string[];
    };
    const input = await loadCompareInput(
      { from: String(t0 - 1000), to: String(Date.now() + 1), topic, labels: labelsCsv },
      card.features,
      { env, stderr: sink() },
    );
    expect(input.rows).toHaveLength(findings.length);
    const byId = new Map(input.rows.map((r) => [r.id.toLowerCase(), r.label]));
    expect(byId.get(exploit)).toBe(false);
    expect(byId.get(normal)).toBe(true);
    expect(input.rows.filter((r) => r.label !== undefined)).toHaveLength(2);
  });
});
