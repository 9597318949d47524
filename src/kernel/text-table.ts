/** The one fixed-width text table, for `att stats` and the benchmarks' terminal output. */

/** A cell that reads as a number ("12,346", "3.21×", "12 ms", "–" for none). */
export const isNumericCell = (s: string): boolean => /^[-+]?[\d,.]+(\s?\S{0,6})?$|^–$/.test(s.trim());

export interface TextTableOptions {
  /**
   * Per column "l" or "r"; "numbers" right-aligns the columns whose cells are all numbers.
   * @defaultValue the first column left, the others right
   */
  align?: readonly ("l" | "r")[] | "numbers";
  /** The character of the rule under the header. @defaultValue "─" */
  rule?: string;
}

/**
 * Columns padded to their widest cell, two spaces apart, trailing blanks trimmed.
 *
 * @example
 *   textTable(["score", "count"], [["0.9", "12"]], { align: ["l", "r"] })
 */
export function textTable(headers: string[], rows: string[][], opts: TextTableOptions = {}): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const align =
    opts.align === "numbers"
      ? headers.map((_, c) => (rows.length > 0 && rows.every((r) => isNumericCell(r[c] ?? "")) ? "r" : "l"))
      : (opts.align ?? headers.map((_, c) => (c === 0 ? "l" : "r")));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (align[c] === "l" ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd();
  const rule = opts.rule ?? "─";
  return [line(headers), widths.map((w) => rule.repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
