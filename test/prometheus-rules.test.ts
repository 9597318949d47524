import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { describe, expect, it, onTestFinished } from "vitest";
import { findBinary, PROMETHEUS_DIR, promtool, shippedAlerts } from "./helpers/prometheus.js";

/**
 * The shipped alerting rules, checked and unit-tested by Prometheus's own promtool (Debian's
 * prometheus package, which `deploy/local/stack.sh install` brings; these tests fail, not skip,
 * without it). The unit tests themselves are deploy/prometheus/alerts.test.yml.
 */

interface RuleTestFile {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
  }[];
}
const TEST_FILE = "alerts.test.yml";

/** What the rule tests miss: alerts never seen firing or never seen silent, and unknown names. */
function coverageGaps(alerts: string[], tests: RuleTestFile["tests"]): string[] {
  const firing = new Set<string>();
  const silent = new Set<string>();
  const named = new Set<string>();
  for (const t of tests)
    for (const c of t.alert_rule_test ?? []) {
      named.add(c.alertname);
      ((c.exp_alerts ?? []).length > 0 ? firing : silent).add(c.alertname);
    }
  return [
    ...alerts.filter((a) => !firing.has(a)).map((a) => `${a}: no test where it fires`),
    ...alerts.filter((a) => !silent.has(a)).map((a) => `${a}: no test where it stays silent`),
    ...[...named].filter((n) => !alerts.includes(n)).map((n) => `${n}: tested but not in alerts.yml`),
  ];
}

const ruleTests = yaml.load(readFileSync(join(PROMETHEUS_DIR, TEST_FILE), "utf8")) as RuleTestFile;
const alertNames = shippedAlerts().map((r) => r.alert);

describe("the rule-test coverage check itself", () => {
  it("names an alert without a firing case, one without a silent case, and a test of an unknown alert", () => {
    const tests = [
      {
        name: "a",
        alert_rule_test: [
          { alertname: "A", exp_alerts: [{}] },
          { alertname: "A", exp_alerts: [] },
        ],
      },
      { name: "b", alert_rule_test: [{ alertname: "B", exp_alerts: [] }, { alertname: "Gone" }] },
      { name: "c", alert_rule_test: [{ alertname: "C", exp_alerts: [{}] }] },
    ];
    expect(coverageGaps(["A", "B", "C"], tests)).toEqual([
      "B: no test where it fires",
      "C: no test where it stays silent",
      "Gone: tested but not in alerts.yml",
    ]);
  });
});

describe("deploy/prometheus with promtool", () => {
  const tool = findBinary("promtool");

  it("has promtool installed (deploy/local/stack.sh install)", () => {
    expect(tool.missing).toBeUndefined();
  });

  it("passes `promtool check rules` on alerts.yml", async () => {
    const r = await promtool(["check", "rules", "alerts.yml"]);
    expect(r.output).toContain(`SUCCESS: ${alertNames.length} rules found`);
    expect(r.code, r.output).toBe(0);
  });

  it("passes `promtool check config` on the local scrape config, rule files included", async () => {
    const r = await promtool(["check", "config", "prometheus.local.yml"]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS: 1 rule files found");
  });

  it("passes `promtool test rules` on alerts.test.yml", async () => {
    const r = await promtool(["test", "rules", TEST_FILE]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("tests every alert of alerts.yml firing on its fault and staying silent on healthy series", () => {
    expect(ruleTests.rule_files).toEqual(["alerts.yml"]);
    expect(alertNames.length).toBe(18);
    expect(coverageGaps(alertNames, ruleTests.tests)).toEqual([]);
  });

  it("fails `promtool test rules` when a rule no longer does what its test expects", async () => {
    // A copy of the rules in which the DLQ alert waits 20 minutes: its tests must now fail.
    const dir = mkdtempSync(join(tmpdir(), "att-rules-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(join(PROMETHEUS_DIR, TEST_FILE), join(dir, TEST_FILE));
    const rules = yaml.load(readFileSync(join(PROMETHEUS_DIR, "alerts.yml"), "utf8")) as {
      groups: { rules: { alert?: string; for?: string }[] }[];
    };
    const dlq = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === "AttScoreDlqGrowing")!;
    dlq.for = "20m";
    writeFileSync(join(dir, "alerts.yml"), yaml.dump(rules));
    const r = await promtool(["test", "rules", TEST_FILE], dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("alertname: AttScoreDlqGrowing");
  });
});
