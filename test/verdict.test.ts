import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { serializeFinding, type Finding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { verdictSchema } from "../src/contracts/verdict.js";
import { buildScoredFinding } from "../src/sink/findings.js";
import { loadLabels } from "../src/tools/labels/labels.js";
import { precisionRecall } from "../src/tools/labels/metrics.js";
import { EXPLOIT_TEMPLATES } from "../src/tools/simulate/exploits.js";
import { createLogger } from "../src/kernel/logger.js";
import { runVerdict } from "../src/tools/labels/verdict.js";
import { runStats } from "../src/tools/stats/run.js";
import { compactedView } from "./faults/harness.js";
import { connectedAdmin, connectedProducer, createTestTopic, testClient } from "./helpers/kafka.js";
import { consoleConsume } from "./helpers/kafka-cli.js";
import { uniqueName } from "./helpers/names.js";
import { runAtt } from "./helpers/processes.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { sink } from "./helpers/sink.js";

/**
 * `att verdict` (issue 16): one Verdict v1 per transaction on a compacted topic, keyed
 * `<chainId>:<txHash>`, and `att stats` precision and recall from those verdicts plus the
 * simulator's injected exploits.
 */

const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;
const txHash = (i: number) => hex(0xfeed0000 + i, 32);

function labelsEnv(): Record<string, string> {
  const verdicts = uniqueName("verdicts");
  onTestFinished(async () => {
    const admin = await connectedAdmin();
    await admin.deleteTopics({ topics: [verdicts], timeout: 10_000 }).catch(() => undefined);
  });
  return {
    ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    ATT_LOG_LEVEL: "warn",
    ATT_VERDICTS_TOPIC: verdicts,
  };
}

function scoredFinding(i: number, anomalous: boolean): Finding {
  const tx: TokenTransferTx = {
    v: 1,
    chainId: 1,
    blockNumber: 2000 + i,
    blockHash: hex(2000 + i, 32),
    blockTimestamp: 1_700_000_000 + i * 12,
    txHash: txHash(i),
    txIndex: 0,
    from: hex(0x5000 + i, 20),
    to: hex(0x6000, 20),
    transfers: [
      { logIndex: 0, token: hex(0x7000, 20), from: hex(0x5000 + i, 20), to: hex(0x6000, 20), value: "1" },
    ],
    observedAt: 0,
  };
  return buildScoredFinding(
    {
      tx,
      features: { transfer_counts: 1 },
      maxSingleTokenName: "USDC",
      tokenTypes: ["USDC"],
      score: anomalous ? 0.6 + i / 1000 : 0.4,
      anomalous,
      explanations: [],
      featureTimeSec: 0.001,
      modelTimeSec: 0.0001,
    },
    { version: "1671000000", threshold: 0.5 },
  );
}

describe("att verdict", () => {
  it("writes a Verdict v1 keyed <chainId>:<txHash> to a compacted topic; a second verdict for the transaction replaces the first", async () => {
    const env = labelsEnv();
    const topic = env.ATT_VERDICTS_TOPIC!;
    const hash = txHash(1);
    const first = await runAtt(
      ["verdict", hash.toUpperCase().replace("0X", "0x"), "true-positive", "--by", "alice"],
      env,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`true-positive recorded for 1:${hash}`);
    const second = await runAtt(
      ["verdict", hash, "false-positive", "--note", "MEV bot, ticket 42", "--by", "bob"],
      env,
    );
    expect(second.code, second.stderr).toBe(0);

    const records = await consoleConsume({ topic, readCommitted: true, timeoutMs: 15_000, expected: 2 });
    expect(records.map((r) => r.key)).toEqual([`1:${hash}`, `1:${hash}`]);
    const live = compactedView(records);
    expect([...live.keys()]).toEqual([`1:${hash}`]);
    const latest = verdictSchema.parse(JSON.parse(live.get(`1:${hash}`)!));
    expect(latest).toMatchObject({
      v: 1,
      chainId: 1,
      txHash: hash,
      verdict: "false-positive",
      note: "MEV bot, ticket 42",
      analyst: "bob",
    });

    // Withdrawn: a tombstone under the key, so the transaction is unlabelled again.
    const withdraw = await runAtt(["verdict", hash, "--withdraw"], env);
    expect(withdraw.code, withdraw.stderr).toBe(0);
    const withTombstone = await consoleConsume({
      topic,
      readCommitted: true,
      timeoutMs: 15_000,
      expected: 3,
    });
    expect(withTombstone.map((r) => [r.key, r.value === null])).toEqual([
      [`1:${hash}`, false],
      [`1:${hash}`, false],
      [`1:${hash}`, true],
    ]);
    expect(compactedView(withTombstone).size).toBe(0);

    const admin = await connectedAdmin();
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ["cleanup.policy"] }],
    });
    expect(described.resources[0]!.configEntries[0]!.configValue).toBe("compact");
  }, 120_000);

  it("refuses a hash that is not 32 bytes and an unknown verdict with Got/Expected/Fix, exit 1, writing nothing", async () => {
    const env = labelsEnv();
    const short = await runAtt(["verdict", "0x1234", "false-positive"], env);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("Invalid transaction hash");
    expect(short.stderr).toMatch(
      /Got: "0x1234"\n\s+Expected: a 32-byte hash: 0x and 64 hex digits\n\s+Fix: /,
    );
    const unknown = await runAtt(["verdict", txHash(2), "maybe"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /Got: "maybe"\n\s+Expected: true-positive, false-positive, benign\n\s+Fix: /,
    );
    const admin = await connectedAdmin();
    expect(await admin.listTopics()).not.toContain(env.ATT_VERDICTS_TOPIC);
  }, 60_000);
});

describe("att stats with verdicts", () => {
  it("reports precision and recall from verdicts and injected exploits; one alert marked false-positive lowers precision exactly as counted by hand", async () => {
    const env = labelsEnv();
    const findings = await createTestTopic("verdict-findings", 2);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 60 * 60_000;
    const t1 = t0 + 30 * 60_000;
    // 40 transactions, the first 8 flagged (ANOMALOUS), the rest NORMAL, inside [t0, t1).
    const all = Array.from({ length: 40 }, (_, i) => scoredFinding(i, i < 8));
    const producer = await connectedProducer();
    await producer.send({
      topic: findings,
      messages: all.map((f, i) => ({
        key: f.uniqueKey,
        value: serializeFinding(f),
        timestamp: String(t0 + 60_000 + i * 1000),
      })),
    });

    // Verdicts: alerts 0, 1, 2 true; NORMAL 10 benign (a true negative); NORMAL 11 an attack (missed).
    for (const [i, v] of [
      [0, "true-positive"],
      [1, "true-positive"],
      [2, "true-positive"],
      [10, "benign"],
      [11, "true-positive"],
    ] as const)
      await runVerdict(txHash(i), v, { by: "analyst" }, { env, stdout: sink() });

    // Injected exploits: alert 3 (caught), NORMAL 12 (missed), one sent in the range without any
    // finding (missed), one sent before the range (not counted).
    const dir = mkdtempSync(join(tmpdir(), "att-verdict-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "exploits.jsonl");
    const line = (hash: string, sentAt: number) =>
      JSON.stringify({ hash, kind: "exploit", sender: hex(1, 20), sentAt });
    writeFileSync(
      log,
      [
        line(txHash(3), t0 + 60_000),
        line(txHash(12), t0 + 60_000),
        line(txHash(99), t0 + 120_000),
        line(txHash(98), t0 - 60_000),
      ].join("\n") + "\n",
    );

    const stats = async (thresholds?: string) => {
      const stdout = sink();
      const report = await runStats(
        {
          from: new Date(t0).toISOString(),
          to: new Date(t1).toISOString(),
          topic: findings,
          exploitsLog: log,
          ...(thresholds ? { thresholds } : {}),
          html: join(dir, "report.html"),
        },
        { env, stdout, stderr: sink() },
      );
      return { report, text: stdout.text() };
    };

    // By hand: TP = alerts 0, 1, 2, 3; FP = none; FN = 11, 12, 99; TN = 10.
    const before = await stats();
    const byHand = precisionRecall([
      ...[0, 1, 2, 3].map(() => ({ flagged: true, positive: true })),
      ...[11, 12, 99].map(() => ({ flagged: false, positive: true })),
      { flagged: false, positive: false },
    ]);
    expect(byHand).toEqual({ tp: 4, fp: 0, fn: 3, tn: 1, precision: 1, recall: 4 / 7 });
    expect(before.report.labels).toMatchObject({
      ...byHand,
      labelled: 7,
      missedWithoutFinding: 1,
      verdictsOnTopic: 5,
    });
    expect(before.report.labels!.bySource).toEqual({ verdict: 5, injected: 2, "known-exploit": 0 });
    expect(before.text).toMatch(/precision \(flagged: ANOMALOUS\)\s+100\.0%/);

    // An analyst marks alert 4 a false positive: precision 4 / 5, recall unchanged.
    await runVerdict(
      txHash(4),
      "false-positive",
      { by: "analyst", note: "MEV bot" },
      { env, stdout: sink() },
    );
    const after = await stats("0.5,0.602");
    expect(after.report.labels).toMatchObject({ tp: 4, fp: 1, fn: 3, tn: 1, precision: 0.8, recall: 4 / 7 });
    expect(after.report.labels!.falsePositives).toEqual([
      { txHash: txHash(4), score: 0.604, from: hex(0x5004, 20), verdict: "false-positive" },
    ]);
    expect(after.text).toMatch(/precision \(flagged: ANOMALOUS\)\s+80\.0%\s+4 TP \/ 5 flagged/);
    expect(after.text).toContain(txHash(4));
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toContain("<h2>Precision and recall</h2>");
    expect(html).toMatch(/precision<b>80\.0%<\/b>/);
    expect(html).toContain(txHash(4));
    // What-if at 0.602: alerts 0 and 1 (0.600, 0.601) drop out and become misses; 4 (0.604) stays a false positive.
    const at = (t: number) => after.report.labels!.whatIf.find((w) => Math.abs(w.threshold - t) < 1e-9);
    expect(at(0.5)).toMatchObject({ tp: 4, fp: 1, fn: 3, precision: 0.8 });
    expect(at(0.602)).toMatchObject({ tp: 2, fp: 1, fn: 5, precision: 2 / 3, recall: 2 / 7 });
  }, 180_000);
});

describe("labels without verdicts", () => {
  it("count the known exploit transactions of the training notebook as positives on mainnet only, and a verdict overrides them", async () => {
    const env = labelsEnv();
    const logger = createLogger({ level: "error" });
    const known = EXPLOIT_TEMPLATES[0]!.txHash;
    // The verdicts topic does not exist yet: no verdicts, the known exploits still count.
    const none = await loadLabels(testClient, {
      verdictsTopic: env.ATT_VERDICTS_TOPIC!,
      exploitLogs: [],
      logger,
    });
    expect(none.verdicts).toBe(0);
    expect(none.get(1, known)).toEqual({ positive: true, source: "known-exploit" });
    expect(none.get(5, known)).toBeUndefined();
    expect(none.get(1, txHash(1))).toBeUndefined();
    await runVerdict(known, "benign", { by: "analyst" }, { env, stdout: sink() });
    const judged = await loadLabels(testClient, {
      verdictsTopic: env.ATT_VERDICTS_TOPIC!,
      exploitLogs: [],
      logger,
    });
    expect(judged.get(1, known)).toEqual({ positive: false, source: "verdict", verdict: "benign" });
  }, 60_000);
});
