import { ALERT_IDS, findingUniqueKey, type Finding } from "../contracts/finding.js";
import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";

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
function fmt(n: number): string {
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

function featureMetadata(features: Record<string, number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!features) return out;
  // In the extractor's order, which is the model card's feature order (deterministic).
  for (const name in features) out[name] = fmt(features[name]!);
  return out;
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
  const metadata: Record<string, string> = {
    from: s.tx.from,
    ...featureMetadata(s.features),
    max_single_token_transfers_name: s.maxSingleTokenName,
    token_types: JSON.stringify(s.tokenTypes),
    prediction: s.anomalous ? "ANOMALY" : "NORMAL",
    anomaly_score: fmt(s.score),
    anomaly_threshold: fmt(model.threshold),
    model_version: model.version,
    feature_generation_response_time_sec: fmt(s.featureTimeSec),
    model_pred_response_time_sec: fmt(s.modelTimeSec),
    model_explanations: formatExplanations(s.explanations),
  };
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
  return {
    name: "Invalid Model Features",
    description: `Model input generation failed for tx executed by ${inv.tx.from}`,
    alertId,
    protocol: "ethereum",
    severity: "Low",
    type: "Info",
    metadata: {
      from: inv.tx.from,
      ...featureMetadata(inv.features),
      ...(inv.tokenTypes ? { token_types: JSON.stringify(inv.tokenTypes) } : {}),
      invalid_reason_code: inv.code,
      invalid_reason: inv.reason,
      anomaly_threshold: fmt(model.threshold),
      model_version: model.version,
      feature_generation_response_time_sec: fmt(inv.featureTimeSec),
    },
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
