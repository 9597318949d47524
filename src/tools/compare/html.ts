import { int, pct } from "../stats/format.js";
import { barChart, esc } from "../stats/svg.js";
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

/**
 * Anomaly rate against training rate: per model a bar of each, on one scale, with the ratio.
 * Drawn here (not with lineChart): the models are categories, not points on an axis.
 */
function rateChart(r: CompareReport): string {
  const rowH = 26;
  const left = 170;
  const width = 760;
  const plot = width - left - 150;
  const max = Math.max(1e-12, ...r.models.flatMap((m) => [m.rate, m.trainingRate ?? 0]));
  const h = 30 + r.models.length * (2 * rowH + 10);
  const parts = [`<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img">`];
  parts.push(
    `<rect x="${left}" y="6" width="10" height="10" fill="#c0392b"/><text x="${left + 14}" y="15" font-size="11">anomaly rate</text>`,
    `<rect x="${left + 110}" y="6" width="10" height="10" fill="#999"/><text x="${left + 124}" y="15" font-size="11">training rate</text>`,
  );
  r.models.forEach((m, i) => {
    const y = 26 + i * (2 * rowH + 10);
    parts.push(
      `<text x="${left - 8}" y="${y + rowH}" text-anchor="end" font-size="12">${esc(m.version)}</text>`,
    );
    const bar = (v: number | null, dy: number, color: string, label: string) => {
      if (v === null) return;
      const w = Math.max(1, (v / max) * plot);
      parts.push(
        `<rect x="${left}" y="${y + dy}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"><title>${esc(`${m.version} ${label}: ${pct(v)}`)}</title></rect>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + dy + rowH - 11}" font-size="11">${esc(pct(v))}${label === "anomaly rate" && m.rateRatio !== null ? esc(` (${m.rateRatio.toFixed(2)}×)`) : ""}</text>`,
      );
    };
    bar(m.rate, 0, "#c0392b", "anomaly rate");
    bar(m.trainingRate, rowH, "#999", "training rate");
  });
  parts.push("</svg>");
  return parts.join("");
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
