#!/usr/bin/env node
// Prints the fault-injection suite's table (test/faults, one row per case) from the lines its
// cases appended to <reports>/faults.jsonl during this test run (test/faults/harness.ts).
// deploy/local/test.sh calls it after vitest, so every CI log ends its test step with the table.
// Usage: node scripts/fault-table.mjs <faults.jsonl>
import { existsSync, readFileSync } from "node:fs";

const [file] = process.argv.slice(2);
if (!file || !existsSync(file)) {
  console.log(`[fault-table] no fault report at ${file ?? "(none given)"}: the fault suite did not run`);
  process.exit(0);
}
const rows = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const cols = [
  ["case", (r) => (r.case.length > 72 ? `${r.case.slice(0, 71)}…` : r.case)],
  ["in", (r) => String(r.n)],
  ["findings", (r) => String(r.findings)],
  ["dup", (r) => String(r.duplicates)],
  ["missing", (r) => String(r.missing)],
  ["dlq", (r) => String(r.dlq)],
  [
    "recovery",
    (r) => (r.recoverySec === undefined || r.recoverySec === null ? "–" : `${r.recoverySec.toFixed(1)} s`),
  ],
  ["counted by", (r) => r.countedBy],
];
const cells = rows.map((r) => cols.map(([, f]) => f(r)));
const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (vals) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
console.log(`\nFault-injection suite (${rows.length} cases)`);
console.log(line(cols.map(([h]) => h)));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const c of cells) console.log(line(c));
const bad = rows.filter((r) => r.duplicates > 0 || r.missing > 0);
console.log(
  bad.length ? `${bad.length} case(s) lost or duplicated findings` : "0 lost, 0 duplicated in every case",
);
