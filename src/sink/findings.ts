import { ALERT_IDS, findingUniqueKey, type Finding } from "../contracts/finding.js";
import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { lastShapeCache } from "../kernel/record-shape.js";

/**
 * Builds findings exactly as the ATT bot emitted them (starter-kits
 * anomalous-token-transfers-ml-py, src/utils/findings.py): same alert ids, names,
 * descriptions, severities, types and the `attacker` label on anomalous transactions —
 * in the JSON shape that forta-agent's `Finding.toString()` prints.
 */

export interface ModelInfo {
  version: string;
  threshold: number;
}

export interface Attribution {
  feature: string;
  value: number;
  /** Contribution to the normalized anomaly score's underlying path length; positive raises the anomaly score. */
  contribution: number;
}

export interface ScoredTx {
  tx: TokenTransferTx;
  /** Feature values by name (the model's features plus the bot's extra fields). */
  features: Record<string, number>;
  maxSingleTokenName: string;
  tokenTypes: string[];
  score: number;
  anomalous: boolean;
  explanations: Attribution[];
  featureTimeSec: number;
  modelTimeSec: number;
}

export interface InvalidTx {
  tx: TokenTransferTx;
  code: string;
  reason: string;
  features?: Record<string, number>;
  tokenTypes?: string[];
  featureTimeSec: number;
}

const FLOAT_DIGITS = 6;

const SCALE = 10 ** FLOAT_DIGITS;

/**
 * A number as metadata shows it: integers as they are, others rounded to 6 decimals. This runs
 * ~50 times per finding, so it avoids toFixed (the profile's hottest line in the score stage)
 * where the scaled value is exactly representable.
 */
export function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Math.abs(n) < 1e9) return String(Math.round(n * SCALE) / SCALE);
  return String(Number(n.toFixed(FLOAT_DIGITS)));
}

function timestampOf(tx: TokenTransferTx): string {
  return new Date(tx.blockTimestamp * 1000).toISOString();
}

function source(tx: TokenTransferTx): Finding["source"] {
  return {
    transactions: [{ chainId: tx.chainId, hash: tx.txHash }],
    blocks: [{ chainId: tx.chainId, hash: tx.blockHash, number: tx.blockNumber }],
  };
}

/**
 * Adds the features to `out` in the extractor's order, which is the model card's feature order
 * (deterministic).
 */
function addFeatureMetadata(out: Record<string, string>, features: Record<string, number> | undefined): void {
  if (!features) return;
  for (const name in features) out[name] = fmt(features[name]!);
}

const SCORED_TAIL_KEYS = [
  "max_single_token_transfers_name",
  "token_types",
  "prediction",
  "anomaly_score",
  "anomaly_threshold",
  "model_version",
  "feature_generation_response_time_sec",
  "model_pred_response_time_sec",
  "model_explanations",
] as const;
const scoredShape = lastShapeCache();
const shapeKeys: string[] = [];
const shapeValues: string[] = [];

/**
 * A scored finding's metadata — from, the features in the extractor's order (the model card's
 * feature order, deterministic), then the bot's fields — as one object literal of a compiled
 * shape (src/kernel/record-shape.ts): ~3× cheaper to build and serialize than key by key.
 */
function scoredMetadata(s: ScoredTx, model: ModelInfo): Record<string, string> {
  shapeKeys.length = 0;
  shapeValues.length = 0;
  shapeKeys.push("from");
  shapeValues.push(s.tx.from);
  for (const name in s.features) {
    shapeKeys.push(name);
    shapeValues.push(fmt(s.features[name]!));
  }
  shapeKeys.push(...SCORED_TAIL_KEYS);
  shapeValues.push(
    s.maxSingleTokenName,
    JSON.stringify(s.tokenTypes),
    s.anomalous ? "ANOMALY" : "NORMAL",
    fmt(s.score),
    fmt(model.threshold),
    model.version,
    fmt(s.featureTimeSec),
    fmt(s.modelTimeSec),
    formatExplanations(s.explanations),
  );
  return scoredShape(shapeKeys)(shapeValues);
}

/** Explanations as the metadata carries them: "feature=value (+0.123)", strongest first. */
export function formatExplanations(explanations: Attribution[]): string {
  return JSON.stringify(
    explanations.map(
      (e) => `${e.feature}=${fmt(e.value)} (${e.contribution >= 0 ? "+" : ""}${e.contribution.toFixed(4)})`,
    ),
  );
}

export function buildScoredFinding(s: ScoredTx, model: ModelInfo): Finding {
  const alertId = s.anomalous ? ALERT_IDS.anomalous : ALERT_IDS.normal;
  const metadata = scoredMetadata(s, model);
  const score = Number(s.score.toFixed(FLOAT_DIGITS));
  return {
    name: s.anomalous ? "Anomalous Transaction" : "Normal Transaction",
    description: `${s.tx.from} executed ${s.anomalous ? "anomalous" : "normal"} tx with token transfers`,
    alertId,
    protocol: "ethereum",
    severity: s.anomalous ? "Critical" : "Info",
    type: s.anomalous ? "Suspicious" : "Info",
    metadata,
    addresses: [s.tx.from],
    labels: s.anomalous
      ? [
          {
            entityType: "Transaction",
            entity: s.tx.txHash,
            label: "attacker",
            confidence: Math.min(1, Math.max(0, score)),
            remove: false,
            metadata: { custom_value: "anomalous", model_version: model.version },
          },
        ]
      : [],
    uniqueKey: findingUniqueKey({
      chainId: s.tx.chainId,
      txHash: s.tx.txHash,
      alertId,
      modelVersion: model.version,
    }),
    source: source(s.tx),
    timestamp: timestampOf(s.tx),
  };
}

export function buildInvalidFinding(inv: InvalidTx, model: ModelInfo): Finding {
  const alertId = ALERT_IDS.invalid;
  const metadata: Record<string, string> = { from: inv.tx.from };
  addFeatureMetadata(metadata, inv.features);
  if (inv.tokenTypes) metadata.token_types = JSON.stringify(inv.tokenTypes);
  metadata.invalid_reason_code = inv.code;
  metadata.invalid_reason = inv.reason;
  metadata.anomaly_threshold = fmt(model.threshold);
  metadata.model_version = model.version;
  metadata.feature_generation_response_time_sec = fmt(inv.featureTimeSec);
  return {
    name: "Invalid Model Features",
    description: `Model input generation failed for tx executed by ${inv.tx.from}`,
    alertId,
    protocol: "ethereum",
    severity: "Low",
    type: "Info",
    metadata,
    addresses: [inv.tx.from],
    labels: [],
    uniqueKey: findingUniqueKey({
      chainId: inv.tx.chainId,
      txHash: inv.tx.txHash,
      alertId,
      modelVersion: model.version,
    }),
    source: source(inv.tx),
    timestamp: timestampOf(inv.tx),
  };
}

/** uniqueKeys of every finding a transaction could have produced under one model version. */
export function possibleFindingKeys(
  tx: Pick<TokenTransferTx, "chainId" | "txHash">,
  modelVersion: string,
): string[] {
  return [ALERT_IDS.normal, ALERT_IDS.anomalous, ALERT_IDS.invalid].map((alertId) =>
    findingUniqueKey({ chainId: tx.chainId, txHash: tx.txHash, alertId, modelVersion }),
  );
}
