import { createHash } from "node:crypto";
import { ALERT_IDS, type Finding } from "../contracts/finding.js";
import type { DriftReport } from "./drift-report.js";

/**
 * MODEL-DRIFT: the production traffic no longer looks like the training data.
 *
 * Severity Medium: nothing is under attack, but findings of this model are less trustworthy
 * until someone looks (retrain, adjust the threshold, or explain the shift).
 * Type Degraded: Forta's type for a monitored system working below its normal quality — here
 * the detector itself. Suspicious/Exploit would page security responders for a statistics
 * problem; Info would let it pass unnoticed.
 */
export function driftUniqueKey(parts: { modelVersion: string; scope: string; windowIndex: number }): string {
  const h = createHash("sha256");
  h.update(`${ALERT_IDS.drift}|${parts.modelVersion}|${parts.scope}|${parts.windowIndex}`);
  return `0x${h.digest("hex")}`;
}

function num(x: number, digits = 6): string {
  return Number.isFinite(x) ? String(Number(x.toFixed(digits))) : String(x);
}

/**
 * How far past the window's end its findings can be stamped: the findings of the batch that
 * closed the window are written (and get their Kafka timestamp) just after it closed.
 */
export const RETRAIN_END_GRACE_MS = 5_000;

/**
 * The exact command that retrains on this window's findings (docs/model-loop.md): the
 * findings topic range that holds its scored transactions, the findings of this model only,
 * without the transactions an analyst judged to be attacks.
 */
export function retrainCommand(r: Pick<DriftReport, "startedAt" | "endedAt" | "modelVersion">): string {
  const to = new Date(Date.parse(r.endedAt) + RETRAIN_END_GRACE_MS).toISOString();
  return `att model retrain --from ${r.startedAt} --to ${to} --model-version ${r.modelVersion} --exclude-verdict true-positive`;
}

export function buildDriftFinding(r: DriftReport, opts: { chainId: number; scope: string }): Finding {
  const why = r.reasons.join("; ");
  const retrain = retrainCommand(r);
  return {
    name: "Model Drift Detected",
    description: `Model ${r.modelVersion}: ${why} (window ${r.windowIndex}, ${r.size} scored transactions). Retrain on this window: ${retrain}`,
    alertId: ALERT_IDS.drift,
    protocol: "ethereum",
    severity: "Medium",
    type: "Degraded",
    metadata: {
      model_version: r.modelVersion,
      window_index: String(r.windowIndex),
      window_size: String(r.size),
      window_start: r.startedAt,
      window_end: r.endedAt,
      anomaly_threshold: num(r.threshold),
      anomalies: String(r.anomalies),
      anomaly_rate: num(r.anomalyRate, 8),
      training_anomaly_rate: num(r.trainingAnomalyRate, 8),
      expected_anomalies: num(r.rateTest.expected, 2),
      anomaly_rate_z: num(r.rateTest.z, 4),
      anomaly_rate_p_value: r.rateTest.pValue.toExponential(3),
      score_psi: num(r.scorePsi ?? NaN, 4),
      top_drifting_features: JSON.stringify(
        r.topFeatures.map((f) => ({ feature: f.feature, psi: num(f.psi, 4) })),
      ),
      reasons: JSON.stringify(r.reasons),
      retrain_command: retrain,
    },
    addresses: [],
    labels: [],
    uniqueKey: driftUniqueKey({
      modelVersion: r.modelVersion,
      scope: opts.scope,
      windowIndex: r.windowIndex,
    }),
    source: { chains: [{ chainId: opts.chainId }] },
    timestamp: r.endedAt,
  };
}
