import { isNumericCell, textTable } from "../../src/kernel/text-table.js";

/** Tables for the terminal and for Markdown, and number formatting shared by both. */

/** 12345.6 → "12,346"; 12.345 → "12.3"; 0.01234 → "0.0123": about three significant digits. */
export function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "-∞";
  const a = Math.abs(n);
  if (a >= 10 ** digits || Number.isInteger(n)) return Math.round(n).toLocaleString("en-US");
  if (a === 0) return "0";
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return n.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** "3.21×" (ratios), "–" when absent. */
export const fmtRatio = (r: number | undefined): string =>
  r === undefined || Number.isNaN(r) ? "–" : `${fmt(r)}×`;

/** The benchmarks' terminal tables: columns of numbers right-aligned, an ASCII rule. */
export const benchTable = (headers: string[], rows: string[][]): string =>
  textTable(headers, rows, { align: "numbers", rule: "-" });

const mdCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function markdownTable(headers: string[], rows: string[][]): string {
  const right = headers.map((_, c) => rows.length > 0 && rows.every((r) => isNumericCell(r[c] ?? "")));
  return [
    `| ${headers.map(mdCell).join(" | ")} |`,
    `|${right.map((r) => (r ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${headers.map((_, c) => mdCell(r[c] ?? "")).join(" | ")} |`),
  ].join("\n");
}
