import { bool, int, num, optional, str } from "./option.js";

/**
 * Model monitoring: the live drift monitor inside `att score` (tumbling windows of scored
 * transactions compared with the model card's training distributions) and `att stats`.
 */
export const monitorOptions = {
  driftEnabled: bool(
    "ATT_DRIFT_ENABLED",
    true,
    "Run the live drift monitor in `att score` (needs a model card with training statistics).",
  ),
  driftWindowSize: int(
    "ATT_DRIFT_WINDOW_SIZE",
    10_000,
    "Scored transactions per drift window (tumbling, per process). At 0.387 % training anomaly rate, 10,000 rows expect ~39 anomalies: enough for the binomial test to see a doubling (z ≈ 6).",
    { min: 100, max: 10_000_000 },
  ),
  driftZThreshold: num(
    "ATT_DRIFT_Z_THRESHOLD",
    4,
    "Anomaly-rate alarm level as a two-sided normal z; the test itself uses the exact binomial tail at that significance (z=4 ⇔ p≈6.3e-5), so small expected counts do not cause false alarms.",
    { min: 1, max: 20 },
  ),
  driftScorePsiThreshold: num(
    "ATT_DRIFT_SCORE_PSI_THRESHOLD",
    0.25,
    "Score-distribution PSI (window vs training histogram) above which a window alarms; 0.1 = moderate, 0.25 = significant shift.",
    { min: 0 },
  ),
  driftFeaturePsiThreshold: num(
    "ATT_DRIFT_FEATURE_PSI_THRESHOLD",
    0.25,
    "Per-feature PSI (window vs the card's feature histograms) above which a window alarms.",
    { min: 0 },
  ),
  driftTopFeatures: int(
    "ATT_DRIFT_TOP_FEATURES",
    5,
    "Drifting features listed in a MODEL-DRIFT finding and in logs.",
    { min: 0, max: 1000 },
  ),
  driftFindings: bool(
    "ATT_DRIFT_FINDINGS",
    true,
    "Write a MODEL-DRIFT finding (Medium / Degraded) to the findings topic for each alarming window; false = metrics and logs only.",
  ),
  driftScope: optional(
    str(
      "ATT_DRIFT_SCOPE",
      undefined,
      "Part of the MODEL-DRIFT uniqueKey besides model version and window index, so that replicas (each with its own windows) do not share keys; unset = the score group id.",
      { pattern: /^[A-Za-z0-9._:-]+$/, expected: "letters, digits, . _ : -" },
    ),
  ),
  statsIdleTimeoutMs: int(
    "ATT_STATS_IDLE_TIMEOUT_MS",
    30_000,
    "`att stats`: stop reading when no partition made progress for this long, and say which partitions fell short of the range end.",
    { min: 1000, max: 3_600_000 },
  ),
  statsStableWaitMs: int(
    "ATT_STATS_STABLE_WAIT_MS",
    10_000,
    "`att stats`: how long to wait for transactions open when reading began (their records are written but not yet readable); partitions still held back after it are named in the report.",
    { min: 0, max: 600_000 },
  ),
};
