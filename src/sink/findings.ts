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
  /**
   * att-model/2 only (issue 15): the card's names of the two sides and what the score means.
   * Labels other than ANOMALOUS / NORMAL replace the verdict in `prediction`, the name, the
   * description and the label's custom_value; `score_kind` joins the metadata. The alert ids
   * stay (routing, retractions and Forta consumers key on them). Unset: the ATT bot's findings.
   */
  labels?: { positive: string; negative: string } | undefined;
  scoreKind?: string | undefined;
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
  /**
   * The sender or the called contract is on the allow-list (issue 16): the finding says so in
   * `metadata.allowlisted` ("true", after the bot's fields) and stays off the alerts topic.
   * Absent or false: the finding is exactly the ATT bot's.
   */
  allowlisted?: boolean;
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

export const SCORED_TAIL_KEYS = [
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
/** An att-model/2 model's finding also says what the score means, after the threshold. */
const SCORED_TAIL_KEYS_V2 = [
  ...SCORED_TAIL_KEYS.slice(0, 5),
  "score_kind",
  ...SCORED_TAIL_KEYS.slice(5),
] as const;
const scoredShape = lastShapeCache();

interface Verdict {
  prediction: string;
  name: string;
  /** The word in the description and the positive label's custom_value. */
  word: string;
}
const ATT_VERDICTS = {
  positive: { prediction: "ANOMALY", name: "Anomalous Transaction", word: "anomalous" },
  negative: { prediction: "NORMAL", name: "Normal Transaction", word: "normal" },
} as const;
const customVerdicts = new Map<string, Verdict>();

/** The ATT bot's words for the default labels (ANOMALOUS / NORMAL), else the card's label ("FRAUD_RING": "Fraud Ring Transaction"). */
function verdict(positive: boolean, model: ModelInfo): Verdict {
  const label = model.labels && (positive ? model.labels.positive : model.labels.negative);
  if (label === undefined || label === (positive ? "ANOMALOUS" : "NORMAL"))
    return positive ? ATT_VERDICTS.positive : ATT_VERDICTS.negative;
  let v = customVerdicts.get(label);
  if (!v) {
    const words = label.toLowerCase().split("_").filter(Boolean);
    v = {
      prediction: label,
      name: `${words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(" ")} Transaction`,
      word: words.join(" "),
    };
    customVerdicts.set(label, v);
  }
  return v;
}
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
  shapeKeys.push(...(model.scoreKind === undefined ? SCORED_TAIL_KEYS : SCORED_TAIL_KEYS_V2));
  shapeValues.push(
    s.maxSingleTokenName,
    JSON.stringify(s.tokenTypes),
    verdict(s.anomalous, model).prediction,
    fmt(s.score),
    fmt(model.threshold),
  );
  if (model.scoreKind !== undefined) shapeValues.push(model.scoreKind);
  shapeValues.push(
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
  if (s.allowlisted) metadata.allowlisted = "true";
  const score = Number(s.score.toFixed(FLOAT_DIGITS));
  const v = verdict(s.anomalous, model);
  return {
    name: v.name,
    description: `${s.tx.from} executed ${v.word} tx with token transfers`,
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
            metadata: { custom_value: v.word, model_version: model.version },
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
