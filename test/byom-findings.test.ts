import { createRequire } from "node:module";
import type * as FortaSdk from "forta-agent";
import { describe, expect, it } from "vitest";
import { findingSchema, serializeFinding, toFortaSdkInput } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { createBatchProcessor, type InputMessage } from "../src/score/processor.js";
import type { FeaturePort, ModelPort } from "../src/score/ports.js";
import { buildScoredFinding, type ModelInfo, type ScoredTx } from "../src/sink/findings.js";
import { serializeScoredFinding } from "../src/sink/serialize.js";

/**
 * Findings of an att-model/2 model (issue 15) carry its labels and score kind; those of an
 * att-model/1 model stay the ATT bot's, byte for byte.
 */

const { Finding: SdkFinding } = createRequire(import.meta.url)("forta-agent") as typeof FortaSdk;

const tx: TokenTransferTx = {
  v: 1,
  chainId: 1,
  blockNumber: 20_000_000,
  blockHash: `0x${"aa".repeat(32)}`,
  blockTimestamp: 1_720_000_000,
  txHash: `0x${"bb".repeat(32)}`,
  txIndex: 3,
  from: `0x${"cc".repeat(20)}`,
  to: null,
  transfers: [
    {
      logIndex: 0,
      token: `0x${"ee".repeat(20)}`,
      from: `0x${"cc".repeat(20)}`,
      to: `0x${"dd".repeat(20)}`,
      value: "5",
    },
  ],
  observedAt: 1_720_000_001_000,
};

const scored = (anomalous: boolean, score: number): ScoredTx => ({
  tx,
  features: { transfer_counts: 3, USDC_value: 12.5 },
  maxSingleTokenName: "USDC",
  tokenTypes: ["USDC"],
  score,
  anomalous,
  explanations: [{ feature: "transfer_counts", value: 3, contribution: 1.25 }],
  featureTimeSec: 0.001,
  modelTimeSec: 0.00001,
});

const v2: ModelInfo = {
  version: "rf-2026",
  threshold: 0,
  labels: { positive: "FRAUD_RING", negative: "LEGIT" },
  scoreKind: "decision_function",
};

describe("findings of an att-model/2 model", () => {
  it("name the card's labels in the name, description, prediction and label, and say the score kind", () => {
    const pos = buildScoredFinding(scored(true, 2.75), v2);
    expect(pos.alertId).toBe("ANOMALOUS-TOKEN-TRANSFERS-TX");
    expect(pos.name).toBe("Fraud Ring Transaction");
    expect(pos.description).toBe(`${tx.from} executed fraud ring tx with token transfers`);
    expect(pos.metadata).toMatchObject({
      prediction: "FRAUD_RING",
      anomaly_score: "2.75",
      anomaly_threshold: "0",
      score_kind: "decision_function",
      model_version: "rf-2026",
    });
    // score_kind sits right after the threshold; the rest of the bot's order is kept
    const keys = Object.keys(pos.metadata);
    expect(keys.slice(keys.indexOf("prediction"))).toEqual([
      "prediction",
      "anomaly_score",
      "anomaly_threshold",
      "score_kind",
      "model_version",
      "feature_generation_response_time_sec",
      "model_pred_response_time_sec",
      "model_explanations",
    ]);
    expect(pos.labels).toEqual([
      expect.objectContaining({
        label: "attacker",
        confidence: 1,
        metadata: { custom_value: "fraud ring", model_version: "rf-2026" },
      }),
    ]);
    const neg = buildScoredFinding(scored(false, -1.5), v2);
    expect(neg).toMatchObject({
      alertId: "NORMAL-TOKEN-TRANSFERS-TX",
      name: "Legit Transaction",
      labels: [],
    });
    expect(neg.metadata.prediction).toBe("LEGIT");
    // still a valid Forta finding that the SDK reads back
    for (const f of [pos, neg]) {
      expect(findingSchema.safeParse(f).success).toBe(true);
      const back = SdkFinding.fromObject(toFortaSdkInput(f) as never);
      expect(JSON.parse(back.toString())).toEqual(JSON.parse(serializeFinding(f)));
    }
  });

  it("keep the ATT bot's words for the default labels (ANOMALY / NORMAL) and add only score_kind", () => {
    const info: ModelInfo = {
      version: "p-1",
      threshold: 0.5,
      labels: { positive: "ANOMALOUS", negative: "NORMAL" },
      scoreKind: "probability",
    };
    const v1 = buildScoredFinding(scored(true, 0.9), { version: "p-1", threshold: 0.5 });
    const withKind = buildScoredFinding(scored(true, 0.9), info);
    const { score_kind, ...rest } = withKind.metadata;
    expect(score_kind).toBe("probability");
    expect({ ...withKind, metadata: rest }).toEqual(v1);
    expect(JSON.stringify(v1)).toBe(
      serializeScoredFinding(scored(true, 0.9), { version: "p-1", threshold: 0.5 }).value,
    );
  });

  it("are what the score stage writes for a model port that gives labels and a score kind (att-model/1 ports: the lean serializer's bytes)", async () => {
    const features: FeaturePort = {
      computeBatch: async (txs) =>
        txs.map(() => ({
          ok: true as const,
          values: Float32Array.of(3, 12.5),
          named: { transfer_counts: 3, USDC_value: 12.5 },
          tokenTypes: ["USDC"],
          maxSingleTokenName: "USDC",
        })),
    };
    const port = (extra: Partial<ModelPort>): ModelPort => ({
      version: "rf-2026",
      threshold: 0,
      featureCount: 2,
      scoreRows: async (_rows, n) => Float64Array.from({ length: n }, () => 2.75),
      explain: () => [{ feature: "transfer_counts", value: 3, contribution: 1.25 }],
      ...extra,
    });
    const message: InputMessage = {
      topic: "t",
      partition: 0,
      offset: "0",
      timestamp: "0",
      key: null,
      value: Buffer.from(JSON.stringify(tx)),
    };
    const config = {
      routing: { findingsTopic: "findings", normalFindings: "main" as const },
      dlqTopic: "dlq",
      enrichDeadlineMs: 1000,
      explainTopK: 5,
      explainNormal: false,
    };
    const run = async (p: ModelPort) =>
      (await createBatchProcessor({ features, model: p, config })([message])).records[0]!.value!;
    const labelled = JSON.parse(await run(port({ labels: v2.labels, scoreKind: "decision_function" }))) as {
      name: string;
      metadata: Record<string, string>;
    };
    expect(labelled.name).toBe("Fraud Ring Transaction");
    expect(labelled.metadata.score_kind).toBe("decision_function");
    const plain = await run(port({}));
    expect(JSON.parse(plain)).toMatchObject({
      name: "Anomalous Transaction",
      metadata: { prediction: "ANOMALY" },
    });
    expect(JSON.parse(plain).metadata.score_kind).toBeUndefined();
  });
});
