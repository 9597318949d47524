/**
 * Minimal inline SVG charts for the HTML report. Inline `<svg>` inside HTML needs no xmlns, so
 * the report holds no URL at all and opens offline.
 */

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const W = 760;
const H = 260;
const M = { top: 30, right: 36, bottom: 40, left: 64 };

/** About `n` round tick values (steps of 1, 2 or 5 × 10^k) inside [min, max]. */
export function niceTicks(min: number, max: number, n: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step)
    out.push(Number(t.toPrecision(12)));
  return out;
}

export interface BarSeries {
  label: string;
  /** One value per bin. */
  values: number[];
  color: string;
}

/** Grouped bars over contiguous bins with edges `edges` (length = values + 1); optional log y. */
export function barChart(opts: {
  edges: number[];
  series: BarSeries[];
  yLabel: string;
  xLabel: string;
  marker?: { x: number; label: string };
  yFormat?: (v: number) => string;
}): string {
  const { edges, series } = opts;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x0 = edges[0]!;
  const x1 = edges[edges.length - 1]!;
  const yMax = Math.max(1e-12, ...series.flatMap((s) => s.values));
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => M.top + ph - (y / yMax) * ph;
  const fmt = opts.yFormat ?? ((v: number) => v.toPrecision(2));
  const parts: string[] = [];
  parts.push(`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`);
  for (const t of niceTicks(0, yMax, 4)) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fmt(t))}</text>`,
    );
  }
  const groups = series.length;
  for (let i = 0; i < edges.length - 1; i++) {
    const bx = sx(edges[i]!);
    const bw = (sx(edges[i + 1]!) - bx) / groups;
    series.forEach((s, g) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      parts.push(
        `<rect x="${(bx + g * bw).toFixed(1)}" y="${sy(v).toFixed(1)}" width="${Math.max(0.5, bw - 0.5).toFixed(1)}" height="${(M.top + ph - sy(v)).toFixed(1)}" fill="${s.color}"><title>${esc(`${s.label} ${edges[i]!.toFixed(2)}–${edges[i + 1]!.toFixed(2)}: ${fmt(v)}`)}</title></rect>`,
      );
    });
  }
  for (const t of niceTicks(x0, x1, 10)) {
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${esc(t.toFixed(2))}</text>`,
    );
  }
  if (opts.marker) {
    const mx = sx(opts.marker.x).toFixed(1);
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${M.top}" y2="${M.top + ph}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${mx}" y="${M.top + 12}" font-size="11" fill="#c00" dx="4">${esc(opts.marker.label)}</text>`,
    );
  }
  parts.push(
    axes(opts.xLabel, opts.yLabel),
    legend(series.map((s) => ({ label: s.label, color: s.color }))),
    "</svg>",
  );
  return parts.join("");
}

export interface LineSeries {
  label: string;
  points: { x: number; y: number | null }[];
  color: string;
  dashed?: boolean;
}

/** A shaded range (e.g. what the training rate allows by chance at each point). */
export interface Band {
  label: string;
  points: { x: number; lo: number; hi: number }[];
  color: string;
}

/** Lines over a numeric x axis; null y values break the line. */
export function lineChart(opts: {
  series: LineSeries[];
  band?: Band;
  xLabel: string;
  yLabel: string;
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
}): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = opts.series.flatMap((s) => s.points.map((p) => p.y).filter((y): y is number => y !== null));
  for (const p of opts.band?.points ?? []) ys.push(p.hi);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yMax = Math.max(1e-12, ...ys) * 1.1;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => M.top + ph - (y / yMax) * ph;
  const fy = opts.yFormat ?? ((v: number) => v.toPrecision(2));
  const fx = opts.xFormat ?? ((v: number) => String(Math.round(v)));
  const parts: string[] = [`<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`];
  for (const t of niceTicks(0, yMax, 4)) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fy(t))}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 5)) {
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${esc(fx(t))}</text>`,
    );
  }
  if (opts.band && opts.band.points.length) {
    const b = opts.band.points;
    const d =
      b.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.hi).toFixed(1)}`).join("") +
      [...b]
        .reverse()
        .map((p) => `L${sx(p.x).toFixed(1)},${sy(p.lo).toFixed(1)}`)
        .join("") +
      "Z";
    parts.push(
      `<path d="${d}" fill="${opts.band.color}" stroke="none"><title>${esc(opts.band.label)}</title></path>`,
    );
  }
  for (const s of opts.series) {
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (p.y === null) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
      pen = true;
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    for (const p of s.points) {
      if (p.y === null || s.dashed) continue;
      parts.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.2" fill="${s.color}"><title>${esc(`${s.label} @ ${fx(p.x)}: ${fy(p.y)}`)}</title></circle>`,
      );
    }
  }
  const items = [...opts.series, ...(opts.band ? [opts.band] : [])];
  parts.push(axes(opts.xLabel, opts.yLabel), legend(items), "</svg>");
  return parts.join("");
}

function axes(xLabel: string, yLabel: string): string {
  return (
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>` +
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>` +
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>` +
    `<text transform="translate(14 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`
  );
}

/** Legend in the top margin, left to right, so that it never covers data. */
function legend(items: { label: string; color: string }[]): string {
  let x = M.left;
  return items
    .map((it) => {
      const out =
        `<rect x="${x}" y="8" width="10" height="10" fill="${it.color}"/>` +
        `<text x="${x + 14}" y="17" font-size="11">${esc(it.label)}</text>`;
      x += 24 + it.label.length * 6.2;
      return out;
    })
    .join("");
}
