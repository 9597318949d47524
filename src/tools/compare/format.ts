import { textTable } from "../../kernel/text-table.js";
import { fixed, int, pct } from "../stats/format.js";
import type { CompareReport } from "./compare.js";

/** The side-by-side table rows, shared by the terminal and the HTML report. */
export function modelTable(r: CompareReport): { headers: string[]; rows: string[][] } {
  const labels = r.labelled > 0;
  const headers = [
    "model",
    "threshold",
    "anomalies",
    "anomaly rate",
    "training rate",
    "× training",
    ...(labels ? ["rate w/o attacks", "× training", "precision", "recall", "TP/FP/FN"] : []),
    "threshold for target",
  ];
  const rows = r.models.map((m) => [
    m.version,
    String(m.threshold),
    int(m.anomalies),
    pct(m.rate),
    pct(m.trainingRate),
    m.rateRatio === null ? "-" : `${m.rateRatio.toFixed(2)}×`,
    ...(labels
      ? [
          pct(m.normalRate),
          m.normalRateRatio === null ? "-" : `${m.normalRateRatio.toFixed(2)}×`,
          pct(m.precision, 1),
          pct(m.recall, 1),
          `${m.truePositives}/${m.falsePositives}/${m.falseNegatives}`,
        ]
      : []),
    m.target
      ? `${m.target.threshold.toFixed(4)} → ${pct(m.target.achieved)} (target ${pct(m.target.rate)})`
      : "-",
  ]);
  return { headers, rows };
}

export function pairTable(r: CompareReport): { headers: string[]; rows: string[][] } {
  return {
    headers: ["models", "Jaccard (flagged)", "Spearman ρ", "both", "only first", "only second"],
    rows: r.pairs.map((p) => [
      `${p.a} vs ${p.b}`,
      fixed(p.jaccard, 3),
      fixed(p.spearman, 4),
      int(p.both),
      int(p.onlyA),
      int(p.onlyB),
    ]),
  };
}

export function flipTable(r: CompareReport): { headers: string[]; rows: string[][] } {
  const versions = r.models.map((m) => m.version);
  return {
    headers: [
      "transaction",
      ...(r.labelled ? ["label"] : []),
      ...versions.map((v) => `${v} score`),
      ...versions.map((v) => `${v} top features`),
    ],
    rows: r.flips.map((f) => [
      f.id,
      ...(r.labelled ? [f.label === undefined ? "?" : f.label ? "attack" : "normal"] : []),
      ...f.sides.map((s) => `${s.score.toFixed(4)}${s.flagged ? " ANOMALY" : ""}`),
      ...f.sides.map(
        (s) =>
          s.explanation
            .map(
              (e) =>
                `${e.feature}=${Number(e.value.toPrecision(6))} (${e.contribution >= 0 ? "+" : ""}${e.contribution.toFixed(3)})`,
            )
            .join(", ") || "none",
      ),
    ]),
  };
}

/** The report as terminal tables. */
export function formatTerminal(r: CompareReport): string {
  const t = (x: { headers: string[]; rows: string[][] }) =>
    textTable(x.headers, x.rows, { align: "numbers" });
  const out = [
    `Compared ${r.models.length} models on ${int(r.rows)} transactions from ${r.source}` +
      (r.labelled ? ` (${int(r.labelled)} labelled, ${int(r.positives)} attacks)` : " (no labels)"),
    "",
    t(modelTable(r)),
    "",
    t(pairTable(r)),
    "",
    `${int(r.flipCount)} transactions flip between models${r.flips.length < r.flipCount ? ` (largest ${r.flips.length} shown)` : ""}`,
  ];
  if (r.flips.length) out.push(t(flipTable(r)));
  return out.join("\n") + "\n";
}
