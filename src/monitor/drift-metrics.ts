import { Counter, Gauge, type Registry } from "prom-client";

/** Gauges describe the last completed drift window; counters accumulate over the process. */
export interface DriftMetrics {
  z: Gauge;
  pValue: Gauge;
  windowRate: Gauge;
  trainingRate: Gauge;
  scorePsi: Gauge;
  featurePsi: Gauge<"feature">;
  alarm: Gauge;
  windowFill: Gauge;
  windows: Counter<"alarm">;
  findings: Counter;
}

export function createDriftMetrics(registry: Registry, opts: { windowFill: () => number }): DriftMetrics {
  const registers = [registry];
  return {
    z: new Gauge({
      name: "att_drift_anomaly_rate_z",
      help: "Last drift window: (anomalies − expected) / sd under the training anomaly rate (binomial, signed).",
      registers,
    }),
    pValue: new Gauge({
      name: "att_drift_anomaly_rate_p_value",
      help: "Last drift window: exact two-sided binomial p-value of the anomaly count under the training rate.",
      registers,
    }),
    windowRate: new Gauge({
      name: "att_drift_window_anomaly_rate",
      help: "Last drift window: share of scored transactions at or above the threshold.",
      registers,
    }),
    trainingRate: new Gauge({
      name: "att_drift_training_anomaly_rate",
      help: "Training anomaly rate at the threshold in use (from the model card).",
      registers,
    }),
    scorePsi: new Gauge({
      name: "att_drift_score_psi",
      help: "Last drift window: PSI of the score distribution against the training score histogram.",
      registers,
    }),
    featurePsi: new Gauge({
      name: "att_drift_feature_psi",
      help: "Last drift window: PSI of each model feature against the card's training histogram.",
      labelNames: ["feature"],
      registers,
    }),
    alarm: new Gauge({
      name: "att_drift_alarm",
      help: "1 when the last drift window crossed a threshold (anomaly rate, score PSI or feature PSI), else 0.",
      registers,
    }),
    windowFill: new Gauge({
      name: "att_drift_window_fill",
      help: "Scored transactions in the drift window being filled.",
      registers,
      collect() {
        this.set(opts.windowFill());
      },
    }),
    windows: new Counter({
      name: "att_drift_windows_total",
      help: "Completed drift windows, by whether they alarmed.",
      labelNames: ["alarm"],
      registers,
    }),
    findings: new Counter({
      name: "att_drift_findings_total",
      help: "MODEL-DRIFT findings emitted (at most one per window).",
      registers,
    }),
  };
}
