import type { Registry } from "prom-client";
import type { Finding } from "../contracts/finding.js";
import type { Config } from "../kernel/config/index.js";
import type { Logger } from "../kernel/logger.js";
import { parseMonitorCard, type MonitorCard } from "./card.js";
import { buildDriftFinding } from "./drift-finding.js";
import { createDriftMetrics, type DriftMetrics } from "./drift-metrics.js";
import { evaluateWindow, type DriftReport, type DriftThresholds } from "./drift-report.js";
import { buildDriftReference, type DriftReference } from "./reference.js";

export type { DriftReport } from "./drift-report.js";

export interface DriftMonitorOptions {
  card: MonitorCard;
  /** Where the att_drift_* metrics go; omit for none. */
  registry?: Registry;
  /** Scored transactions per tumbling window. Default 10,000. */
  windowSize?: number;
  /** Anomaly threshold in use when it differs from the card's (ATT_MODEL_THRESHOLD). */
  threshold?: number;
  zThreshold?: number;
  scorePsiThreshold?: number;
  featurePsiThreshold?: number;
  topFeatures?: number;
  /** Build a MODEL-DRIFT finding for alarming windows. Default true. */
  emitFindings?: boolean;
  /** Chain of the findings' `source`. Default 1. */
  chainId?: number;
  /** Distinguishes the windows of different replicas in the finding's uniqueKey. Default "". */
  scope?: string;
  logger?: Logger;
  now?: () => number;
}

export interface DriftCheck extends DriftReport {
  /** Present when the window alarmed and findings are enabled; at most one per window. */
  finding?: Finding;
}

export interface DriftMonitor {
  readonly windowSize: number;
  readonly reference: DriftReference;
  /** Scored transactions in the window being filled. */
  readonly fill: number;
  /**
   * Adds scored transactions. `featureRows` (optional) holds their model inputs row-major in
   * the card's feature order (`n` rows × card.features.length); `n` defaults to scores.length.
   * Every `windowSize` rows a window closes: its report is computed, metrics updated and the
   * report queued for `check()`.
   */
  observe(scores: ArrayLike<number>, featureRows?: Float32Array, n?: number): void;
  /** The oldest completed window not yet returned, or undefined. Each window is returned once. */
  check(): DriftCheck | undefined;
  /** Drains every queued window and returns the MODEL-DRIFT findings among them. */
  takeFindings(): Finding[];
}

/** Completed reports waiting for check(); older ones are dropped (they were logged and measured). */
const MAX_QUEUED_REPORTS = 1000;

/**
 * Live drift monitor: tumbling windows of scored transactions compared with the model card's
 * training statistics — anomaly rate (exact binomial test), score distribution (PSI) and each
 * feature's distribution (PSI).
 *
 * @example
 *   const drift = createDriftMonitor({ card, registry, windowSize: 10_000, scope: groupId });
 *   drift.observe(scores, rows, rows.length / card.features.length);
 *   for (const f of drift.takeFindings()) records.push(...routeFinding(f, routing, serializeFinding(f)));
 */
export function createDriftMonitor(o: DriftMonitorOptions): DriftMonitor {
  const windowSize = o.windowSize ?? 10_000;
  if (!Number.isInteger(windowSize) || windowSize < 1) {
    throw new RangeError(`windowSize must be a positive integer, got ${windowSize}`);
  }
  const ref = buildDriftReference(o.card, o.threshold !== undefined ? { threshold: o.threshold } : {});
  const thresholds: DriftThresholds = {
    zThreshold: o.zThreshold ?? 4,
    scorePsiThreshold: o.scorePsiThreshold ?? 0.25,
    featurePsiThreshold: o.featurePsiThreshold ?? 0.25,
    topFeatures: o.topFeatures ?? 5,
  };
  const now = o.now ?? Date.now;
  const scope = o.scope ?? "";
  const emitFindings = o.emitFindings ?? true;
  const width = ref.featureCount;

  let windowIndex = 0;
  let n = 0;
  let anomalies = 0;
  let featureRows = 0;
  let startedAt = 0;
  const scoreCounts = ref.score ? new Uint32Array(ref.score.binner.size) : undefined;
  const featureCounts = ref.features.map((f) => new Uint32Array(f.binner.size));
  const queue: DriftCheck[] = [];

  const metrics: DriftMetrics | undefined = o.registry
    ? createDriftMetrics(o.registry, { windowFill: () => n })
    : undefined;
  metrics?.trainingRate.set(ref.trainingAnomalyRate);
  if (!ref.trainingRateExact) {
    o.logger?.warn({
      msg: "Training anomaly rate unknown at this threshold; using the card's rate",
      model_version: ref.modelVersion,
      threshold: ref.threshold,
    });
  }

  function closeWindow(): void {
    const report: DriftCheck = evaluateWindow(
      ref,
      {
        n,
        anomalies,
        ...(scoreCounts ? { scoreCounts } : {}),
        featureRows,
        featureCounts,
      },
      thresholds,
      { windowIndex, startedAt: new Date(startedAt).toISOString(), endedAt: new Date(now()).toISOString() },
    );
    if (report.alarm && emitFindings)
      report.finding = buildDriftFinding(report, { chainId: o.chainId ?? 1, scope });
    if (metrics) {
      metrics.z.set(report.rateTest.z);
      metrics.pValue.set(report.rateTest.pValue);
      metrics.windowRate.set(report.anomalyRate);
      if (report.scorePsi !== undefined) metrics.scorePsi.set(report.scorePsi);
      for (const [feature, v] of Object.entries(report.featurePsi)) metrics.featurePsi.set({ feature }, v);
      metrics.alarm.set(report.alarm ? 1 : 0);
      metrics.windows.inc({ alarm: report.alarm ? "true" : "false" });
      if (report.finding) metrics.findings.inc();
    }
    const fields = {
      model_version: report.modelVersion,
      window_index: report.windowIndex,
      window_size: report.size,
      anomaly_rate: report.anomalyRate,
      training_anomaly_rate: report.trainingAnomalyRate,
      z: report.rateTest.z,
      p_value: report.rateTest.pValue,
      score_psi: report.scorePsi,
      top_features: report.topFeatures,
    };
    if (report.alarm) o.logger?.warn({ msg: "Model drift detected", ...fields, reasons: report.reasons });
    else o.logger?.info({ msg: "Drift window closed", ...fields });
    queue.push(report);
    if (queue.length > MAX_QUEUED_REPORTS) queue.shift();

    windowIndex += 1;
    n = 0;
    anomalies = 0;
    featureRows = 0;
    scoreCounts?.fill(0);
    for (const c of featureCounts) c.fill(0);
  }

  return {
    windowSize,
    reference: ref,
    get fill() {
      return n;
    },
    observe(scores, rows, count) {
      const total = count ?? scores.length;
      if (total > scores.length) throw new RangeError(`observe: n=${total} but only ${scores.length} scores`);
      if (rows && rows.length < total * width) {
        throw new RangeError(
          `observe: ${total} rows of ${width} features need ${total * width} values, got ${rows.length}`,
        );
      }
      for (let i = 0; i < total; i++) {
        const s = scores[i]!;
        if (!Number.isFinite(s)) continue;
        if (n === 0) startedAt = now();
        n += 1;
        if (s >= ref.threshold) anomalies += 1;
        if (scoreCounts) scoreCounts[ref.score!.binner.bin(s)]! += 1;
        if (rows) {
          const base = i * width;
          for (let f = 0; f < ref.features.length; f++) {
            const feat = ref.features[f]!;
            featureCounts[f]![feat.binner.bin(rows[base + feat.index]!)]! += 1;
          }
          featureRows += 1;
        }
        if (n === windowSize) closeWindow();
      }
    },
    check() {
      return queue.shift();
    },
    takeFindings() {
      const out: Finding[] = [];
      for (let r = queue.shift(); r; r = queue.shift()) if (r.finding) out.push(r.finding);
      return out;
    },
  };
}

/**
 * The drift monitor as configured (ATT_DRIFT_*), or undefined when disabled or when the model
 * card has no training statistics (logged). What `att score` calls once it has loaded its
 * model; `card` is the loaded model's card object (validated here).
 *
 * @example
 *   const drift = createDriftMonitorFromConfig(config, {
 *     card: model.card, registry, logger, threshold: model.threshold, scope: config.score.groupId,
 *   });
 */
export function createDriftMonitorFromConfig(
  config: Pick<Config, "monitor">,
  deps: {
    card: unknown;
    registry?: Registry;
    logger?: Logger;
    threshold?: number;
    chainId?: number;
    scope: string;
  },
): DriftMonitor | undefined {
  const m = config.monitor;
  if (!m.driftEnabled) return undefined;
  let card: MonitorCard;
  try {
    card = parseMonitorCard(deps.card);
  } catch (err) {
    deps.logger?.warn({ msg: "Drift monitor off: the model card lacks training statistics", err });
    return undefined;
  }
  return createDriftMonitor({
    card,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.threshold !== undefined ? { threshold: deps.threshold } : {}),
    ...(deps.chainId !== undefined ? { chainId: deps.chainId } : {}),
    windowSize: m.driftWindowSize,
    zThreshold: m.driftZThreshold,
    scorePsiThreshold: m.driftScorePsiThreshold,
    featurePsiThreshold: m.driftFeaturePsiThreshold,
    topFeatures: m.driftTopFeatures,
    emitFindings: m.driftFindings,
    scope: m.driftScope ?? deps.scope,
  });
}
