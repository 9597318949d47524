/**
 * A small SVG line chart for BENCHMARKS.md (GitHub renders an SVG file linked as an image):
 * numeric x, one or more series sharing the y axis, a label under each point of a series.
 */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number; label?: string }[];
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A "nice" upper bound for an axis: 1, 2 or 5 × 10^k at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

export function lineChartSvg(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 640;
  const H = o.height ?? 380;
  const m = { left: 70, right: 150, top: 40, bottom: 50 };
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = o.series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => Number.isFinite(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const yMax = niceMax(Math.max(...ys) * 1.05);
  const px = (x: number) => m.left + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - (y / yMax) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const y = (yMax * k) / 5;
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${py(y) + 4}" text-anchor="end">${Math.round(y).toLocaleString("en-US")}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b))
    out.push(`<text x="${px(x)}" y="${H - m.bottom + 18}" text-anchor="middle">${x}</text>`);
  out.push(
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  for (const [i, s] of o.series.entries()) {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`,
    );
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${s.color}"/>`);
      if (p.label)
        out.push(
          `<text x="${px(p.x)}" y="${py(p.y) + 18}" text-anchor="middle" font-size="10" fill="${s.color}">${esc(p.label)}</text>`,
        );
    }
    const ly = m.top + 10 + i * 20;
    out.push(
      `<line x1="${W - m.right + 12}" x2="${W - m.right + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
      `<text x="${W - m.right + 42}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
