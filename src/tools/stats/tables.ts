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
  driftFindings: (r: StatsReport): Table => ({
    headers: ["window", "ended", "reasons"],
    rows: r.driftFindings.map((d) => [d.windowIndex, d.windowEnd, d.reasons.join("; ")]),
  }),
};
