/** Number formatting shared by the terminal and HTML reports. */

export function pct(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(digits)}%`;
}

export function int(n: number): string {
  return n.toLocaleString("en-US");
}

export function fixed(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}

export function signedPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(digits)}%`;
}

export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "–";
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** Fixed-width text table; `align` per column ("l" | "r"), right by default for all but the first. */
export function textTable(headers: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const al = align ?? headers.map((_, i) => (i === 0 ? "l" : "r"));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (al[i] === "l" ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
