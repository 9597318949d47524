import { int, pct } from "../stats/format.js";
import { barChart, esc, lineChart } from "../stats/svg.js";
import type { CompareReport } from "./compare.js";
import { flipTable, modelTable, pairTable } from "./format.js";

const COLORS = ["#3569b8", "#c0392b", "#27ae60", "#8e44ad", "#d68910"];

function table({ headers, rows }: { headers: string[]; rows: string[][] }, cls = ""): string {
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** Overlaid score histograms (share of rows per bin), one colour per model. */
function histogramChart(r: CompareReport): string {
  const { edges, counts } = r.histogram;
  if (!edges.length) return "<p>No scored transactions.</p>";
  return barChart({
    edges,
    series: r.models.map((m, i) => ({
      label: m.version,
      values: counts[i]!.map((c) => c / Math.max(1, r.rows)),
      color: COLORS[i % COLORS.length]!,
    })),
    xLabel: "score",
    yLabel: "share of transactions",
    yFormat: (v) => pct(v, 1),
    ...(r.models[0]
      ? { marker: { x: r.models[0].threshold, label: `threshold ${r.models[0].threshold}` } }
      : {}),
  });
}

/** Anomaly rate against training rate per model, as points on a line over the models. */
function rateChart(r: CompareReport): string {
  return lineChart({
    series: [
      {
        label: "anomaly rate",
        points: r.models.map((m, i) => ({ x: i + 1, y: m.rate })),
        color: "#c0392b",
      },
      {
        label: "training rate",
        points: r.models.map((m, i) => ({ x: i + 1, y: m.trainingRate })),
        color: "#777",
      },
    ],
    xLabel: `model (${r.models.map((m, i) => `${i + 1} = ${m.version}`).join(", ")})`,
    yLabel: "anomaly rate",
    yFormat: (v) => pct(v, 2),
  });
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}table.mono td{font-family:ui-monospace,Menlo,monospace;font-size:12px;text-align:left}
.muted{color:#777}svg{max-width:100%;height:auto}table.mono{display:block;overflow-x:auto;max-width:100%}`;

/** The compare report as one self-contained page (inline CSS and SVG, no scripts or links). */
export function formatCompareHtml(r: CompareReport): string {
  const body = [
    `<h1>ATT model comparison</h1><p class="muted">${esc(r.models.map((m) => m.version).join(" vs "))} · ${int(r.rows)} transactions from ${esc(r.source)}${r.labelled ? ` · ${int(r.labelled)} labelled, ${int(r.positives)} attacks` : " · no labels"}</p>`,
    "<h2>Side by side</h2>",
    table(modelTable(r)),
    "<h2>Anomaly rate against training rate</h2>",
    rateChart(r),
    "<h2>Score distributions</h2>",
    histogramChart(r),
    "<h2>Agreement</h2>",
    table(pairTable(r)),
    `<h2>Transactions that flip (${int(r.flipCount)})</h2>`,
    r.flips.length ? table(flipTable(r), "mono") : "<p>None: the models flag the same transactions.</p>",
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ATT model comparison</title><style>${STYLE}</style></head><body>${body.join("\n")}</body></html>\n`;
}
