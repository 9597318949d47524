import { fixed, int, pct } from "./format.js";
import type { StatsReport } from "./report.js";

/**
 * The report's tables as headers and cells, once: src/tools/stats/terminal.ts and src/tools/stats/html.ts
 * render the same rows (text columns or an HTML table).
 */
export interface Table {
  headers: string[];
  rows: string[][];
}

export const tables = {
  byAlertId: (r: StatsReport): Table => ({
    headers: ["alert id", "count", "share"],
    rows: r.byAlertId.map((a) => [a.alertId, int(a.count), pct(a.share)]),
  }),
  bySeverity: (r: StatsReport): Table => ({
    headers: ["severity", "alert id", "count", "share"],
    rows: r.bySeverity.map((s) => [s.severity, s.alertId, int(s.count), pct(s.share)]),
  }),
  invalidReasons: (r: StatsReport): Table => ({
    headers: ["reason code", "count"],
    rows: r.invalidReasons.map((x) => [x.code, int(x.count)]),
  }),
  whatIf: (r: StatsReport): Table => ({
    headers: ["threshold", "anomalies", "rate", "training rate", "z vs training"],
    rows: r.whatIf.map((w) => [
      `${w.threshold.toFixed(2)}${w.current ? " (current)" : ""}`,
      int(w.anomalies),
      pct(w.rate),
      pct(w.trainingRate),
      fixed(w.z),
    ]),
  }),
  featurePsi: (r: StatsReport, top: number): Table => ({
    headers: ["feature", "PSI"],
    rows: r.featurePsi.slice(0, top).map((f) => [f.feature, fixed(f.psi, 4)]),
  }),
  versions: (r: StatsReport): Table => ({
    headers: ["version", "findings", "scored", "anomalous", "rate"],
    rows: r.versions.map((v) => [
      v.version,
      int(v.findings),
      int(v.scored),
      int(v.anomalous),
      pct(v.anomalyRate),
    ]),
  }),
  /** `allExplanations`: every attribution (HTML) or only the strongest (terminal width). */
  topAnomalies: (r: StatsReport, allExplanations: boolean): Table => ({
    headers: ["tx hash", "block", "score", "from", allExplanations ? "explanations" : "explanation"],
    rows: r.topAnomalies.map((a) => [
      a.txHash,
      a.blockNumber === null ? "–" : String(a.blockNumber),
      a.score.toFixed(4),
      a.from ?? "–",
      allExplanations ? a.explanations.join(", ") : (a.explanations[0] ?? ""),
    ]),
  }),
  /** Precision and recall against verdicts and exploits (r.labels must be set). */
  labels: (r: StatsReport): Table => {
    const l = r.labels!;
    return {
      headers: ["", "value", ""],
      rows: [
        [
          "precision (flagged: ANOMALOUS)",
          pct(l.precision, 1),
          `${int(l.tp)} TP / ${int(l.tp + l.fp)} flagged with a label`,
        ],
        [
          "recall",
          pct(l.recall, 1),
          `${int(l.tp)} TP / ${int(l.tp + l.fn)} labelled positives${l.missedWithoutFinding ? ` (${int(l.missedWithoutFinding)} injected without a finding)` : ""}`,
        ],
        ["false positives", int(l.fp), "verdict false-positive or benign"],
        ["true negatives", int(l.tn), "labelled negative, not flagged"],
        [
          "labelled findings",
          int(l.labelled),
          `${int(l.bySource.verdict)} by verdict, ${int(l.bySource.injected)} injected exploits, ${int(l.bySource["known-exploit"])} known exploits; ${int(l.verdictsOnTopic)} verdicts on the topic`,
        ],
      ],
    };
  },
  labelsWhatIf: (r: StatsReport): Table => ({
    headers: ["threshold", "precision", "recall", "TP", "FP", "FN"],
    rows: r.labels!.whatIf.map((w) => [
      w.threshold.toFixed(2),
      pct(w.precision, 1),
      pct(w.recall, 1),
      int(w.tp),
      int(w.fp),
      int(w.fn),
    ]),
  }),
  falsePositives: (r: StatsReport): Table => ({
    headers: ["tx hash", "score", "from", "verdict"],
    rows: r.labels!.falsePositives.map((f) => [f.txHash, f.score.toFixed(4), f.from ?? "–", f.verdict]),
  }),
  driftFindings: (r: StatsReport): Table => ({
    headers: ["window", "ended", "reasons"],
    rows: r.driftFindings.map((d) => [d.windowIndex, d.windowEnd, d.reasons.join("; ")]),
  }),
};
