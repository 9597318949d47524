import { textTable } from "../../kernel/text-table.js";
import { fixed, int, pct, pValue, signedPct } from "./format.js";
import type { StatsReport } from "./report.js";
import { tables, type Table } from "./tables.js";

const render = (t: Table, align?: ("l" | "r")[]): string =>
  textTable(t.headers, t.rows, align ? { align } : {});

function section(title: string, body: string): string {
  return `\n${title}\n${body}\n`;
}

/** Score histogram as horizontal bars, only the populated score range. */
function histogramBars(r: StatsReport, width = 40): string {
  const { edges, counts, trainingShares } = r.scoreHistogram;
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return "(no scored transactions)";
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const total = counts.reduce((a, b) => a + b, 0);
  const max = Math.max(...counts.slice(first, last + 1));
  const rows: string[][] = [];
  for (let i = first; i <= last; i++) {
    const c = counts[i]!;
    // Log-scaled bars: the anomalous tail is two to three orders of magnitude below the bulk.
    const len = c > 0 ? Math.max(1, Math.round((Math.log1p(c) / Math.log1p(max)) * width)) : 0;
    const atThreshold = r.threshold !== null && edges[i]! < r.threshold && r.threshold <= edges[i + 1]!;
    rows.push([
      `${edges[i]!.toFixed(2)}–${edges[i + 1]!.toFixed(2)}${atThreshold ? " ◂ threshold" : ""}`,
      int(c),
      pct(c / total, 2),
      trainingShares ? pct(trainingShares[i], 2) : "–",
      "█".repeat(len),
    ]);
  }
  return textTable(["score", "count", "share", "training", "log scale"], rows, {
    align: ["l", "r", "r", "r", "l"],
  });
}

/** The report as terminal tables (what the daily model-stats notebook showed). */
export function formatTerminal(r: StatsReport): string {
  const out: string[] = [];
  out.push(
    `Findings on ${r.topic} from ${r.from} to ${r.to}${r.modelVersion ? `, model ${r.modelVersion}` : ""}: ` +
      `${int(r.total)} transactions (${int(r.reading.messages)} records read, ${int(r.reading.retracted)} retracted by reorgs, ${int(r.reading.duplicates)} re-deliveries` +
      `${r.reading.unparseable ? `, ${int(r.reading.unparseable)} unparseable` : ""}${r.reading.otherVersions ? `, ${int(r.reading.otherVersions)} of other model versions` : ""})` +
      (r.reading.complete
        ? ""
        : "\nWARNING: reading stopped before the end of the range (idle timeout); counts are partial."),
  );

  out.push(section("Findings by alert id", render(tables.byAlertId(r))));
  out.push(section("Severity breakdown", render(tables.bySeverity(r), ["l", "l", "r", "r"])));

  const rateRows: string[][] = [
    ["anomaly rate (of scored)", pct(r.anomalyRate), `${int(r.anomalous)} / ${int(r.scored)}`],
    ["invalid rate (of all)", pct(r.invalidRate), `${int(r.invalid)} / ${int(r.total)}`],
  ];
  if (r.training) {
    rateRows.push([
      `training rate (model ${r.training.version})`,
      pct(r.training.anomalyRate),
      `threshold ${r.training.threshold}`,
    ]);
  }
  if (r.rateTest) {
    rateRows.push(["deviation from training", signedPct(r.rateTest.relativeDeviation), ""]);
    rateRows.push([
      "binomial test",
      `z = ${fixed(r.rateTest.z)}`,
      `p = ${pValue(r.rateTest.pValue)}, expected ${fixed(r.rateTest.expected, 1)}`,
    ]);
  }
  if (r.scorePsi !== null) rateRows.push(["score PSI vs training", fixed(r.scorePsi, 4), ""]);
  out.push(section("Anomaly rate", textTable(["", "value", ""], rateRows, { align: ["l", "r", "l"] })));

  if (r.invalidReasons.length) {
    out.push(section("Invalid findings by reason", render(tables.invalidReasons(r))));
  }

  out.push(section("Score histogram", histogramBars(r)));

  out.push(section("What if the threshold were…", render(tables.whatIf(r))));

  if (r.labels && r.labels.labelled + r.labels.missedWithoutFinding > 0) {
    out.push(
      section(
        "Precision and recall (verdicts, injected exploits)",
        render(tables.labels(r), ["l", "r", "l"]),
      ),
    );
    out.push(section("Precision and recall if the threshold were…", render(tables.labelsWhatIf(r))));
    if (r.labels.falsePositives.length)
      out.push(
        section("Alerts marked false-positive", render(tables.falsePositives(r), ["l", "r", "l", "l"])),
      );
  } else if (r.labels) {
    out.push(
      section("Precision and recall", "(no labelled transaction in the range: att verdict <tx-hash> …)"),
    );
  }

  if (r.featurePsi.length) {
    out.push(section("Most drifted features (PSI vs training)", render(tables.featurePsi(r, 10))));
  }

  if (r.versions.length > 1) {
    out.push(section("Model versions", render(tables.versions(r))));
  }

  out.push(
    section(
      `Top ${r.topAnomalies.length} anomalies`,
      r.topAnomalies.length ? render(tables.topAnomalies(r, false), ["l", "r", "r", "l", "l"]) : "(none)",
    ),
  );

  if (r.driftFindings.length) {
    out.push(section("MODEL-DRIFT findings", render(tables.driftFindings(r), ["l", "l", "l"])));
  }
  for (const n of r.notes) out.push(`Note: ${n}`);
  return out.join("\n") + "\n";
}
