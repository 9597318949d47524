import { fixed, int, pct, pValue, signedPct } from "./format.js";
import type { StatsReport } from "./report.js";
import { barChart, esc, lineChart, type LineSeries } from "./svg.js";
import { tables, type Table } from "./tables.js";

function table({ headers, rows }: Table, cls = ""): string {
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function scoreChart(r: StatsReport): string {
  const { edges, counts, trainingShares } = r.scoreHistogram;
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return "<p>No scored transactions.</p>";
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const lo = Math.max(0, first - 1);
  const hi = Math.min(counts.length - 1, last + 1);
  const total = counts.reduce((a, b) => a + b, 0);
  const series = [
    { label: "production", values: counts.slice(lo, hi + 1).map((c) => c / total), color: "#3569b8" },
  ];
  if (trainingShares)
    series.push({ label: "training", values: trainingShares.slice(lo, hi + 1), color: "#aaa" });
  return barChart({
    edges: edges.slice(lo, hi + 2),
    series,
    xLabel: "anomaly score",
    yLabel: "share of scored transactions",
    yFormat: (v) => pct(v, 1),
    ...(r.threshold !== null ? { marker: { x: r.threshold, label: `threshold ${r.threshold}` } } : {}),
  });
}

function rateOverBlocksChart(r: StatsReport): string {
  if (!r.overBlocks.length) return "<p>No block numbers in the findings.</p>";
  const mid = (b: { fromBlock: number; toBlock: number }) => (b.fromBlock + b.toBlock) / 2;
  const series: LineSeries[] = [
    {
      label: "production anomaly rate",
      points: r.overBlocks.map((b) => ({ x: mid(b), y: b.rate })),
      color: "#c0392b",
    },
  ];
  if (r.training) {
    const t = r.training.anomalyRate;
    series.push({
      label: "training rate",
      points: [
        { x: r.overBlocks[0]!.fromBlock, y: t },
        { x: r.overBlocks[r.overBlocks.length - 1]!.toBlock, y: t },
      ],
      color: "#777",
      dashed: true,
    });
  }
  // What the training rate allows by chance in each bin (±2 binomial standard deviations).
  const band = r.training
    ? {
        label: "training rate ± 2σ",
        color: "rgba(120,120,120,0.15)",
        points: r.overBlocks
          .filter((b) => b.scored > 0)
          .map((b) => {
            const p = r.training!.anomalyRate;
            const sd = Math.sqrt((p * (1 - p)) / b.scored);
            return { x: mid(b), lo: Math.max(0, p - 2 * sd), hi: p + 2 * sd };
          }),
      }
    : undefined;
  return lineChart({
    series,
    ...(band ? { band } : {}),
    xLabel: "block number",
    yLabel: "anomaly rate",
    yFormat: (v) => pct(v, 2),
  });
}

function whatIfChart(r: StatsReport): string {
  if (!r.whatIf.length) return "";
  const series: LineSeries[] = [
    { label: "production", points: r.whatIf.map((w) => ({ x: w.threshold, y: w.rate })), color: "#3569b8" },
  ];
  if (r.whatIf.some((w) => w.trainingRate !== null))
    series.push({
      label: "training",
      points: r.whatIf.map((w) => ({ x: w.threshold, y: w.trainingRate })),
      color: "#999",
    });
  return lineChart({
    series,
    xLabel: "threshold",
    yLabel: "anomaly rate",
    yFormat: (v) => pct(v, 2),
    xFormat: (v) => v.toFixed(2),
  });
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:900px;color:#222;padding:0 12px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}td.mono,table.mono td{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.kpis{display:flex;gap:14px;flex-wrap:wrap}.kpi{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:130px}
.kpi b{display:block;font-size:20px}.note{color:#8a5a00;background:#fff7e0;padding:6px 10px;border-radius:4px}
.muted{color:#777}svg{max-width:100%;height:auto}table.mono{display:block;overflow-x:auto;max-width:100%}`;

/**
 * The report as one self-contained HTML page: inline CSS and SVG, no scripts, fonts, images
 * or links, so it opens offline and can be attached to a ticket.
 */
export function formatHtml(r: StatsReport): string {
  const kpi = (label: string, value: string, sub = "") =>
    `<div class="kpi">${esc(label)}<b>${esc(value)}</b><span class="muted">${esc(sub)}</span></div>`;
  const body: string[] = [];
  body.push(
    `<h1>ATT model statistics</h1><p class="muted">${esc(r.topic)} · ${esc(r.from)} → ${esc(r.to)}${r.modelVersion ? ` · model ${esc(r.modelVersion)}` : ""}</p>`,
  );
  if (!r.reading.complete)
    body.push(
      `<p class="note">Reading stopped before the end of the range (idle timeout): counts are partial.</p>`,
    );
  for (const n of r.notes) body.push(`<p class="note">${esc(n)}</p>`);
  body.push(
    `<div class="kpis">${[
      kpi("transactions", int(r.total), `${int(r.reading.retracted)} retracted by reorgs`),
      kpi("anomaly rate", pct(r.anomalyRate), `${int(r.anomalous)} of ${int(r.scored)} scored`),
      kpi(
        "training rate",
        pct(r.training?.anomalyRate),
        r.training ? `model ${r.training.version}` : "no model card",
      ),
      kpi(
        "z vs training",
        fixed(r.rateTest?.z),
        r.rateTest ? `p = ${pValue(r.rateTest.pValue)}, ${signedPct(r.rateTest.relativeDeviation)}` : "",
      ),
      kpi("invalid rate", pct(r.invalidRate), `${int(r.invalid)} findings`),
      kpi("score PSI", fixed(r.scorePsi, 4), "vs training"),
    ].join("")}</div>`,
  );
  body.push(
    "<h2>Findings by alert id</h2>",
    table(tables.byAlertId(r)),
    "<h2>Severity breakdown</h2>",
    table(tables.bySeverity(r)),
  );
  if (r.invalidReasons.length)
    body.push("<h2>Invalid findings by reason</h2>", table(tables.invalidReasons(r)));
  body.push("<h2>Score distribution</h2>", scoreChart(r));
  body.push("<h2>Anomaly rate over blocks</h2>", rateOverBlocksChart(r));
  body.push("<h2>What if the threshold were…</h2>", whatIfChart(r), table(tables.whatIf(r)));
  if (r.labels && r.labels.labelled + r.labels.missedWithoutFinding > 0) {
    body.push(
      "<h2>Precision and recall</h2>",
      `<div class="kpis">${kpi("precision", pct(r.labels.precision, 1), `${int(r.labels.tp)} of ${int(r.labels.tp + r.labels.fp)} labelled alerts`)}${kpi("recall", pct(r.labels.recall, 1), `${int(r.labels.tp)} of ${int(r.labels.tp + r.labels.fn)} labelled positives`)}</div>`,
      table(tables.labels(r)),
      table(tables.labelsWhatIf(r)),
    );
    if (r.labels.falsePositives.length) body.push(table(tables.falsePositives(r), "mono"));
  }
  if (r.featurePsi.length)
    body.push("<h2>Feature drift (PSI vs training)</h2>", table(tables.featurePsi(r, 15)));
  if (r.versions.length > 1) body.push("<h2>Model versions</h2>", table(tables.versions(r)));
  body.push(`<h2>Top ${r.topAnomalies.length} anomalies</h2>`, table(tables.topAnomalies(r, true), "mono"));
  if (r.driftFindings.length) body.push("<h2>MODEL-DRIFT findings</h2>", table(tables.driftFindings(r)));
  body.push(
    `<h2>Reading</h2>`,
    table({
      headers: ["partition", "start offset", "end offset", "reached"],
      rows: r.reading.partitions.map((p) => [String(p.partition), p.start, p.end, p.reached]),
    }),
    `<p class="muted">${int(r.reading.messages)} records, ${int(r.reading.tombstones)} tombstones (${int(r.reading.retracted)} retracted findings), ${int(r.reading.duplicates)} re-deliveries, ${int(r.reading.unparseable)} unparseable, ${int(r.reading.otherVersions)} of other model versions.</p>`,
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ATT model statistics ${esc(r.from)} – ${esc(r.to)}</title><style>${STYLE}</style></head><body>${body.join("\n")}</body></html>\n`;
}
