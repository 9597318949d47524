import { ALERT_IDS, type Finding } from "../../contracts/finding.js";
import { binomialTest, type BinomialTest } from "../../monitor/binomial.js";
import type { MonitorCard } from "../../monitor/card.js";
import { createBinner, shareAtOrAbove } from "../../monitor/histogram.js";
import { psi } from "../../monitor/psi.js";
import { buildDriftReference } from "../../monitor/reference.js";
import type { LabelSet } from "../labels/labels.js";
import type { CollectorCounters, KeptFinding } from "./collect.js";
import { labelledStats, type LabelledStats } from "./labelled.js";
import type { OpenTransaction, PartitionRange } from "./read-range.js";

export interface StatsOptions {
  topic: string;
  fromMs: number;
  toMs: number;
  modelVersion?: string;
  /** Card of the analysed model version (training rate, histograms); undefined when unknown. */
  card?: MonitorCard;
  /** What-if thresholds. Default 0.45, 0.46, … 0.60. */
  thresholds?: number[];
  topN?: number;
  blockBins?: number;
  /** Verdicts and exploits: precision and recall (unset: no `labels` section). */
  labels?: LabelSet;
}

export interface StatsReport {
  topic: string;
  from: string;
  to: string;
  modelVersion: string | null;
  reading: CollectorCounters & {
    complete: boolean;
    partitions: PartitionRange[];
    openTransactions: OpenTransaction[];
  };
  total: number;
  byAlertId: { alertId: string; count: number; share: number }[];
  bySeverity: { severity: string; alertId: string; count: number; share: number }[];
  versions: {
    version: string;
    findings: number;
    scored: number;
    anomalous: number;
    anomalyRate: number | null;
  }[];
  scored: number;
  anomalous: number;
  invalid: number;
  /** ANOMALOUS / (NORMAL + ANOMALOUS): the rate the training rate is measured in. */
  anomalyRate: number | null;
  /** INVALID / all transaction findings. */
  invalidRate: number | null;
  invalidReasons: { code: string; count: number }[];
  threshold: number | null;
  training: {
    version: string;
    threshold: number;
    anomalyRate: number;
    nRows: number | null;
  } | null;
  /** Production anomaly count against the training rate (binomial). */
  rateTest: (BinomialTest & { relativeDeviation: number }) | null;
  scoreHistogram: { edges: number[]; counts: number[]; trainingShares: number[] | null };
  scorePsi: number | null;
  featurePsi: { feature: string; psi: number }[];
  whatIf: {
    threshold: number;
    anomalies: number;
    rate: number | null;
    trainingRate: number | null;
    z: number | null;
    current: boolean;
  }[];
  overBlocks: {
    fromBlock: number;
    toBlock: number;
    scored: number;
    anomalous: number;
    invalid: number;
    rate: number | null;
  }[];
  topAnomalies: {
    txHash: string;
    blockNumber: number | null;
    score: number;
    from: string | null;
    timestamp: string | null;
    explanations: string[];
  }[];
  driftFindings: { windowIndex: string; windowEnd: string; reasons: string[]; uniqueKey: string }[];
  /** Precision and recall against verdicts and injected exploits; null when no labels were read. */
  labels: LabelledStats | null;
  notes: string[];
}

const DEFAULT_THRESHOLDS = Array.from({ length: 16 }, (_, i) => Number((0.45 + i * 0.01).toFixed(2)));
const SCORE_CUTS = Array.from({ length: 49 }, (_, i) => Number((0.02 + i * 0.02).toFixed(2)));

function mode(values: number[]): number | null {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | null = null;
  let bestN = 0;
  for (const [v, c] of counts)
    if (c > bestN) {
      best = v;
      bestN = c;
    }
  return best;
}

function parseExplanations(raw: string | undefined): string[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.map(String) : [raw];
  } catch {
    return [raw];
  }
}

/**
 * Everything `att stats` reports, from the findings kept for the range. Pure: the same
 * findings and card give the same report (JSON with --json, tables, HTML).
 */
export function buildStatsReport(
  kept: Iterable<KeptFinding>,
  drift: Finding[],
  reading: StatsReport["reading"],
  o: StatsOptions,
): StatsReport {
  const all = [...kept];
  const notes: string[] = [];
  const total = all.length;
  if (reading.openTransactions.length > 0) {
    const held = reading.openTransactions.reduce(
      (n, t) => n + Number(BigInt(t.highWatermark) - BigInt(t.stableOffset)),
      0,
    );
    notes.push(
      `${held} records on partition(s) ${reading.openTransactions.map((t) => t.partition).join(", ")} ` +
        "were behind a transaction still open after the wait (ATT_STATS_STABLE_WAIT_MS) and were not read; run again later for the tail of the range.",
    );
  }
  const share = (n: number) => (total ? n / total : 0);

  const alertCounts = new Map<string, number>();
  const sevCounts = new Map<string, { severity: string; alertId: string; count: number }>();
  const versionStats = new Map<string, { findings: number; scored: number; anomalous: number }>();
  const invalidReasons = new Map<string, number>();
  const scores: number[] = [];
  const thresholds: number[] = [];
  let anomalous = 0;
  let invalid = 0;
  for (const f of all) {
    alertCounts.set(f.alertId, (alertCounts.get(f.alertId) ?? 0) + 1);
    const sk = `${f.severity}|${f.alertId}`;
    const s = sevCounts.get(sk) ?? { severity: f.severity, alertId: f.alertId, count: 0 };
    s.count += 1;
    sevCounts.set(sk, s);
    const v = versionStats.get(f.modelVersion) ?? { findings: 0, scored: 0, anomalous: 0 };
    v.findings += 1;
    if (f.alertId === ALERT_IDS.invalid) {
      invalid += 1;
      const code = f.invalidCode ?? "(unknown)";
      invalidReasons.set(code, (invalidReasons.get(code) ?? 0) + 1);
    } else if (f.score !== undefined) {
      scores.push(f.score);
      v.scored += 1;
      if (f.alertId === ALERT_IDS.anomalous) {
        anomalous += 1;
        v.anomalous += 1;
      }
    }
    if (f.threshold !== undefined) thresholds.push(f.threshold);
    versionStats.set(f.modelVersion, v);
  }
  const scored = scores.length;
  const anomalyRate = scored ? anomalous / scored : null;
  const threshold = mode(thresholds);
  if (new Set(thresholds).size > 1)
    notes.push(
      `Findings carry ${new Set(thresholds).size} different anomaly thresholds; the most common (${threshold}) is taken as current.`,
    );
  if (versionStats.size > 1)
    notes.push(
      `Findings of ${versionStats.size} model versions are mixed; compare them one at a time with --model-version.`,
    );
  if (anomalous > 0 && (alertCounts.get(ALERT_IDS.normal) ?? 0) === 0)
    notes.push(
      "No NORMAL findings in the range (ATT_FINDINGS_NORMAL=off or topic?): the anomaly rate is meaningless here.",
    );

  const card = o.card;
  const ref =
    card && threshold !== null
      ? buildDriftReference(card, { threshold })
      : card
        ? buildDriftReference(card)
        : undefined;
  if (!card)
    notes.push(
      "No model card for the findings' model version: no comparison with training (pass --model <dir>).",
    );
  if (ref && !ref.trainingRateExact)
    notes.push(
      "The current threshold differs from the card's and the card has no score histogram: the training rate shown is at the card's threshold.",
    );
  const training =
    card && ref
      ? {
          version: card.version,
          threshold: ref.threshold,
          anomalyRate: ref.trainingAnomalyRate,
          nRows: card.training.n_rows ?? null,
        }
      : null;
  const rateTest =
    ref && scored > 0
      ? {
          ...binomialTest(anomalous, scored, ref.trainingAnomalyRate),
          relativeDeviation: ref.trainingAnomalyRate > 0 ? anomalyRate! / ref.trainingAnomalyRate - 1 : NaN,
        }
      : null;

  // Score histogram on the card's bins (0.02 wide) so that training shares line up.
  const binner = createBinner(SCORE_CUTS);
  const counts = new Array<number>(binner.size).fill(0);
  for (const s of scores) counts[binner.bin(s)]! += 1;
  const hist = card?.training.score_histogram;
  const sameBins =
    hist &&
    hist.edges.length === SCORE_CUTS.length + 2 &&
    SCORE_CUTS.every((c, i) => Math.abs(c - hist.edges[i + 1]!) < 1e-9);
  const histTotal = hist ? hist.counts.reduce((a, b) => a + b, 0) : 0;
  const scoreHistogram = {
    edges: [0, ...SCORE_CUTS, 1],
    counts,
    trainingShares: sameBins && histTotal ? hist.counts.map((c) => c / histTotal) : null,
  };
  let scorePsi: number | null = null;
  if (ref?.score && scored > 0) {
    const c = new Array<number>(ref.score.binner.size).fill(0);
    for (const s of scores) c[ref.score.binner.bin(s)]! += 1;
    scorePsi = psi(ref.score.expected, c);
  }
  const featurePsi: StatsReport["featurePsi"] = [];
  if (ref && ref.features.length) {
    const fc = ref.features.map((f) => new Array<number>(f.binner.size).fill(0));
    let rows = 0;
    for (const f of all) {
      if (!f.features || f.features.length !== ref.featureCount) continue;
      rows += 1;
      ref.features.forEach((feat, i) => (fc[i]![feat.binner.bin(f.features![feat.index]!)]! += 1));
    }
    if (rows > 0) {
      ref.features.forEach((feat, i) =>
        featurePsi.push({ feature: feat.name, psi: psi(feat.expected, fc[i]!) }),
      );
      featurePsi.sort((a, b) => b.psi - a.psi);
    }
  }

  const sortedScores = Float64Array.from(scores).sort();
  const atOrAbove = (t: number) => {
    let lo = 0;
    let hi = sortedScores.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedScores[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return sortedScores.length - lo;
  };
  const whatIfThresholds = [
    ...new Set([...(o.thresholds ?? DEFAULT_THRESHOLDS), ...(threshold !== null ? [threshold] : [])]),
  ].sort((a, b) => a - b);
  const whatIf = whatIfThresholds.map((t) => {
    const k = atOrAbove(t);
    const trainingRate = card
      ? Math.abs(t - card.threshold) < 1e-12
        ? card.training.anomaly_rate
        : card.training.score_histogram
          ? shareAtOrAbove(card.training.score_histogram, t)
          : null
      : null;
    return {
      threshold: t,
      anomalies: k,
      rate: scored ? k / scored : null,
      trainingRate,
      z:
        trainingRate !== null && trainingRate > 0 && trainingRate < 1 && scored
          ? binomialTest(k, scored, trainingRate).z
          : null,
      current: threshold !== null && Math.abs(t - threshold) < 1e-12,
    };
  });

  const blocks = all.map((f) => f.blockNumber).filter((b): b is number => b !== undefined);
  const overBlocks: StatsReport["overBlocks"] = [];
  if (blocks.length) {
    const lo = blocks.reduce((a, b) => Math.min(a, b));
    const hi = blocks.reduce((a, b) => Math.max(a, b));
    const bins = Math.max(1, Math.min(o.blockBins ?? 60, hi - lo + 1));
    const width = (hi - lo + 1) / bins;
    for (let i = 0; i < bins; i++)
      overBlocks.push({
        fromBlock: Math.ceil(lo + i * width),
        toBlock: Math.ceil(lo + (i + 1) * width) - 1,
        scored: 0,
        anomalous: 0,
        invalid: 0,
        rate: null,
      });
    for (const f of all) {
      if (f.blockNumber === undefined) continue;
      const b = overBlocks[Math.min(bins - 1, Math.floor((f.blockNumber - lo) / width))]!;
      if (f.alertId === ALERT_IDS.invalid) b.invalid += 1;
      else if (f.score !== undefined) {
        b.scored += 1;
        if (f.alertId === ALERT_IDS.anomalous) b.anomalous += 1;
      }
    }
    for (const b of overBlocks) b.rate = b.scored ? b.anomalous / b.scored : null;
  }

  const topAnomalies = all
    .filter((f) => f.score !== undefined && f.alertId === ALERT_IDS.anomalous)
    .sort((a, b) => b.score! - a.score!)
    .slice(0, o.topN ?? 10)
    .map((f) => ({
      txHash: f.txHash ?? "",
      blockNumber: f.blockNumber ?? null,
      score: f.score!,
      from: f.from ?? null,
      timestamp: f.blockTime !== undefined ? new Date(f.blockTime * 1000).toISOString() : null,
      explanations: parseExplanations(f.explanations),
    }));

  return {
    topic: o.topic,
    from: new Date(o.fromMs).toISOString(),
    to: new Date(o.toMs).toISOString(),
    modelVersion: o.modelVersion ?? null,
    reading,
    total,
    byAlertId: [...alertCounts]
      .map(([alertId, count]) => ({ alertId, count, share: share(count) }))
      .sort((a, b) => b.count - a.count),
    bySeverity: [...sevCounts.values()]
      .map((s) => ({ ...s, share: share(s.count) }))
      .sort((a, b) => a.alertId.localeCompare(b.alertId)),
    versions: [...versionStats].map(([version, v]) => ({
      version,
      ...v,
      anomalyRate: v.scored ? v.anomalous / v.scored : null,
    })),
    scored,
    anomalous,
    invalid,
    anomalyRate,
    invalidRate: total ? invalid / total : null,
    invalidReasons: [...invalidReasons]
      .map(([code, count]) => ({ code, count }))
      .sort((a, b) => b.count - a.count),
    threshold,
    training,
    rateTest,
    scoreHistogram,
    scorePsi,
    featurePsi,
    whatIf,
    overBlocks,
    topAnomalies,
    driftFindings: drift.map((f) => ({
      windowIndex: f.metadata.window_index ?? "",
      windowEnd: f.metadata.window_end ?? f.timestamp,
      reasons: parseExplanations(f.metadata.reasons),
      uniqueKey: f.uniqueKey,
    })),
    labels: o.labels
      ? labelledStats(all, o.labels, {
          fromMs: o.fromMs,
          toMs: o.toMs,
          thresholds: whatIfThresholds,
          topN: o.topN ?? 10,
        })
      : null,
    notes,
  };
}
