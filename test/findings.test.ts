import { createRequire } from "node:module";
import type * as FortaSdk from "forta-agent";
import { describe, expect, it } from "vitest";
import { findingSchema, parseFinding, serializeFinding, toFortaSdkInput } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { buildInvalidFinding, buildScoredFinding, possibleFindingKeys } from "../src/sink/findings.js";
import { routeFinding } from "../src/sink/router.js";

// The Forta SDK is CommonJS; its Finding/Label classes are the reference for the JSON shape.
const require = createRequire(import.meta.url);
const { Finding, FindingSeverity, FindingType, EntityType } = require("forta-agent") as typeof FortaSdk;

const tx: TokenTransferTx = {
  v: 1,
  chainId: 1,
  blockNumber: 14_602_790,
  blockHash: `0x${"aa".repeat(32)}`,
  blockTimestamp: 1_650_198_000,
  txHash: `0x${"bb".repeat(32)}`,
  txIndex: 0,
  from: `0x${"cc".repeat(20)}`,
  to: `0x${"dd".repeat(20)}`,
  transfers: [
    {
      logIndex: 0,
      token: `0x${"ee".repeat(20)}`,
      from: `0x${"cc".repeat(20)}`,
      to: `0x${"dd".repeat(20)}`,
      value: "1000000",
    },
  ],
  observedAt: 1_650_198_001_000,
};
const model = { version: "1671000000", threshold: 0.5 };

const anomalous = buildScoredFinding(
  {
    tx,
    features: {
      USDC_transfers: 1,
      USDC_value: 1,
      transfer_counts: 1,
      account_active_period_in_minutes: 12.5,
    },
    maxSingleTokenName: "USDC",
    tokenTypes: ["USDC"],
    score: 0.6625123456,
    anomalous: true,
    explanations: [{ feature: "account_active_period_in_minutes", value: 12.5, contribution: 0.0421 }],
    featureTimeSec: 0.0012,
    modelTimeSec: 0.00002,
  },
  model,
);
const normal = buildScoredFinding({ ...anomalousInput(), anomalous: false, score: 0.41 }, model);
const invalid = buildInvalidFinding(
  {
    tx,
    code: "ATT_ENRICHMENT_MISSING",
    reason: "first-transaction time unavailable: rate limited",
    featureTimeSec: 30,
  },
  model,
);

function anomalousInput() {
  return {
    tx,
    features: { transfer_counts: 1 },
    maxSingleTokenName: "USDC",
    tokenTypes: ["USDC"],
    score: 0.41,
    anomalous: false,
    explanations: [],
    featureTimeSec: 0.001,
    modelTimeSec: 0.00002,
  };
}

describe("Forta findings", () => {
  it.each([
    ["ANOMALOUS", anomalous],
    ["NORMAL", normal],
    ["INVALID", invalid],
  ])("%s parses with the Forta SDK's Finding.fromObject and keeps its JSON", (_name, f) => {
    expect(findingSchema.safeParse(f).success).toBe(true);
    const sdk = Finding.fromObject(toFortaSdkInput(parseFinding(serializeFinding(f))) as never);
    // toString() is what a Forta bot prints; the round trip through the SDK must be lossless.
    const printed = JSON.parse(sdk.toString());
    expect(printed).toEqual(JSON.parse(serializeFinding(f)));
  });

  it("uses the ATT bot's alert ids, names, severities and types", () => {
    expect([anomalous.alertId, anomalous.name, anomalous.severity, anomalous.type]).toEqual([
      "ANOMALOUS-TOKEN-TRANSFERS-TX",
      "Anomalous Transaction",
      "Critical",
      "Suspicious",
    ]);
    expect([normal.alertId, normal.name, normal.severity, normal.type]).toEqual([
      "NORMAL-TOKEN-TRANSFERS-TX",
      "Normal Transaction",
      "Info",
      "Info",
    ]);
    expect([invalid.alertId, invalid.name, invalid.severity, invalid.type]).toEqual([
      "INVALID-TOKEN-TRANSFERS-TX",
      "Invalid Model Features",
      "Low",
      "Info",
    ]);
    expect(FindingSeverity[anomalous.severity as keyof typeof FindingSeverity]).toBe(
      FindingSeverity.Critical,
    );
    expect(FindingType[anomalous.type as keyof typeof FindingType]).toBe(FindingType.Suspicious);
  });

  it("labels an anomalous transaction hash as attacker with the score as confidence", () => {
    const sdk = Finding.fromObject(toFortaSdkInput(anomalous) as never);
    expect(sdk.labels).toHaveLength(1);
    expect(sdk.labels[0]!.entityType).toBe(EntityType.Transaction);
    expect(sdk.labels[0]!.entity).toBe(tx.txHash);
    expect(sdk.labels[0]!.label).toBe("attacker");
    expect(sdk.labels[0]!.confidence).toBeCloseTo(0.662512, 6);
    expect(normal.labels).toEqual([]);
  });

  it("carries the metadata the ATT bot carried, all as strings", () => {
    for (const key of [
      "from",
      "prediction",
      "anomaly_score",
      "anomaly_threshold",
      "model_version",
      "feature_generation_response_time_sec",
      "model_pred_response_time_sec",
      "model_explanations",
      "token_types",
      "USDC_transfers",
      "account_active_period_in_minutes",
    ]) {
      expect(anomalous.metadata[key], key).toBeTypeOf("string");
    }
    expect(anomalous.metadata.prediction).toBe("ANOMALY");
    expect(normal.metadata.prediction).toBe("NORMAL");
    expect(JSON.parse(anomalous.metadata.model_explanations!)).toEqual([
      "account_active_period_in_minutes=12.5 (+0.0421)",
    ]);
    expect(invalid.metadata.invalid_reason).toContain("rate limited");
    expect(invalid.metadata.invalid_reason_code).toBe("ATT_ENRICHMENT_MISSING");
  });

  it("gives a re-delivered finding the same uniqueKey, and retractions cover every possible key", () => {
    const again = buildScoredFinding(
      { ...anomalousInput(), anomalous: false, score: 0.41, featureTimeSec: 9 },
      model,
    );
    expect(again.uniqueKey).toBe(normal.uniqueKey);
    expect(possibleFindingKeys(tx, model.version).sort()).toEqual(
      [anomalous.uniqueKey, normal.uniqueKey, invalid.uniqueKey].sort(),
    );
    expect(parseFinding(serializeFinding(anomalous))).toEqual(anomalous);
  });

  it("routes alerts to their own topic and can drop or divert NORMAL findings", () => {
    const cfg = { findingsTopic: "f", normalFindings: "off" as const, alertsTopic: "a" };
    expect(routeFinding(normal, cfg, "x")).toEqual([]);
    expect(routeFinding(anomalous, cfg, "x").map((r) => r.topic)).toEqual(["f", "a"]);
    expect(
      routeFinding(normal, { findingsTopic: "f", normalFindings: "topic", normalTopic: "n" }, "x").map(
        (r) => r.topic,
      ),
    ).toEqual(["n"]);
    expect(
      routeFinding(normal, { findingsTopic: "f", normalFindings: "main" }, "x").map((r) => r.topic),
    ).toEqual(["f"]);
  });
});
