import { describe, expect, it } from "vitest";
import { ALERT_IDS } from "../src/contracts/finding.js";
import { buildScoredFinding, type ScoredTx } from "../src/sink/findings.js";
import { routeFinding } from "../src/sink/router.js";
import { serializeScoredFinding } from "../src/sink/serialize.js";

/**
 * The allow-list's mark on a finding (issue 16): `metadata.allowlisted: "true"` written the same
 * by the reference builder and the lean serializer, nothing added for any other finding, and the
 * routing that keeps marked findings off the alerts topic.
 */

const MODEL = { version: "1671000000", threshold: 0.5 };

function scored(i: number, anomalous: boolean, features: Record<string, number>): ScoredTx {
  const h = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;
  return {
    tx: {
      v: 1,
      chainId: 1,
      blockNumber: 10 + i,
      blockHash: h(10 + i, 32),
      blockTimestamp: 1_700_000_000 + i,
      txHash: h(0xabc000 + i, 32),
      txIndex: 0,
      from: h(0x5000 + i, 20),
      to: h(0x6000, 20),
      transfers: [],
      observedAt: 0,
    },
    features,
    maxSingleTokenName: "USDC",
    tokenTypes: ["USDC"],
    score: anomalous ? 0.61 + i / 1e4 : 0.4 - i / 1e4,
    anomalous,
    explanations: anomalous ? [{ feature: Object.keys(features)[0]!, value: 1, contribution: 0.1 }] : [],
    featureTimeSec: 0.001,
    modelTimeSec: 0.0001,
  };
}

const ROUTING = { findingsTopic: "f", normalFindings: "main" as const, alertsTopic: "a" };

describe("allow-listed findings", () => {
  it("carry metadata.allowlisted in the same bytes from the builder and the lean serializer", () => {
    const lists: Record<string, number>[] = [
      { USDC_transfers: 2, USDC_value: 12.5 },
      // A feature of that name makes the serializer fall back to the reference (the mark takes
      // the feature's place and value: the same bytes either way).
      { USDC_transfers: 2, allowlisted: 7 },
    ];
    for (const features of lists) {
      for (const anomalous of [true, false]) {
        const s = { ...scored(1, anomalous, features), allowlisted: true };
        const reference = JSON.stringify(buildScoredFinding(s, MODEL));
        const lean = serializeScoredFinding(s, MODEL).value;
        expect(lean).toBe(reference);
        const md = (JSON.parse(lean) as { metadata: Record<string, string> }).metadata;
        expect(md.allowlisted).toBe("true");
        if (!("allowlisted" in features)) expect(Object.keys(md).at(-1)).toBe("allowlisted");
      }
    }
  });

  it("leave every other finding byte for byte as it was (allowlisted false or absent)", () => {
    for (let i = 0; i < 50; i++) {
      const s = scored(i, i % 3 === 0, { USDC_transfers: i, USDC_value: i / 7 });
      const plain = serializeScoredFinding(s, MODEL).value;
      expect(serializeScoredFinding({ ...s, allowlisted: false }, MODEL).value).toBe(plain);
      expect(JSON.stringify(buildScoredFinding({ ...s, allowlisted: false }, MODEL))).toBe(plain);
      expect(plain).not.toContain("allowlisted");
    }
  });

  it("go to the findings topic, never to the alerts topic", () => {
    const f = serializeScoredFinding({ ...scored(2, true, { USDC_transfers: 1 }), allowlisted: true }, MODEL);
    expect(f.alertId).toBe(ALERT_IDS.anomalous);
    expect(routeFinding(f, ROUTING, f.value, true).map((r) => r.topic)).toEqual(["f"]);
    expect(routeFinding(f, ROUTING, f.value, false).map((r) => r.topic)).toEqual(["f", "a"]);
  });
});
