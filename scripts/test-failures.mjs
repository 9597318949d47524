#!/usr/bin/env node
// Prints the failed tests of a vitest JSON report (written by deploy/local/test.sh), one block
// per failure with the first lines of its message. .ci/run calls it last, so that the tail of a
// CI log — often all that is kept — names what failed instead of ending in service logs.
// Usage: node scripts/test-failures.mjs <report.json> [maxLinesPerFailure]
import { existsSync, readFileSync } from "node:fs";

const [file, maxArg] = process.argv.slice(2);
const maxLines = Number(maxArg ?? 12);
if (!file || !existsSync(file)) {
  console.log(
    `[test-failures] no vitest report at ${file ?? "(none given)"}: vitest did not run or did not finish`,
  );
  process.exit(0);
}

let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  console.log(
    `[test-failures] ${file} is not a complete JSON report (${err.message}): vitest was probably killed`,
  );
  process.exit(0);
}

const failed = [];
for (const suite of report.testResults ?? []) {
  const rel = String(suite.name ?? "").replace(`${process.cwd()}/`, "");
  const tests = suite.assertionResults ?? [];
  for (const t of tests) {
    if (t.status === "failed")
      failed.push({ file: rel, name: t.fullName ?? t.title, messages: t.failureMessages ?? [] });
  }
  // A file that failed to load or whose hooks failed has no failed test but a suite message.
  if (suite.status === "failed" && !tests.some((t) => t.status === "failed")) {
    failed.push({
      file: rel,
      name: "(file: load or hook failure)",
      messages: suite.message ? [suite.message] : [],
    });
  }
}

console.log(
  `[test-failures] vitest: ${report.numFailedTests ?? "?"} failed, ${report.numPassedTests ?? "?"} passed, ` +
    `${report.numPendingTests ?? 0} skipped, in ${report.numTotalTestSuites ?? "?"} suites`,
);
for (const f of failed) {
  console.log(`\n✗ ${f.file} > ${f.name}`);
  // Stack frames inside node_modules say nothing about the failure; keep the project's own.
  const lines = f.messages
    .join("\n")
    .split("\n")
    .filter(
      (l) => l.trim() !== "" && !(/^\s+at /.test(l) && /node_modules|node:internal|<anonymous>/.test(l)),
    );
  for (const l of lines.slice(0, maxLines)) console.log(`    ${l}`);
  if (lines.length > maxLines) console.log(`    … ${lines.length - maxLines} more lines`);
}
