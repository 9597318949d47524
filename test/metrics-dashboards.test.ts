import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../src/kernel/metrics.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** Every att_* metric the code registers, with its type, found by reading the source. */
async function knownMetrics(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
  for (const file of walk(join(REPO, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*"(att_\w+)"/g))
      out.set(m[2]!, m[1]!.toLowerCase());
  }
  // prom-client's default process/Node.js metrics, prefixed att_ by the kernel.
  for (const m of await createMetricsRegistry("test").getMetricsAsJSON()) out.set(m.name, String(m.type));
  return out;
}

/** Names in a PromQL expression that the code does not export (histogram series resolved). */
function unknownNames(expr: string, known: Map<string, string>): string[] {
  const missing: string[] = [];
  for (const [name] of expr.matchAll(/\batt_[a-z0-9_]+\b/g)) {
    if (known.has(name)) continue;
    const base = /^(.*)_(bucket|sum|count)$/.exec(name);
    const type = base ? known.get(base[1]!) : undefined;
    if (type === "histogram" || type === "summary") continue;
    missing.push(name);
  }
  return missing;
}

function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
    if ("([{".includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(join(REPO, "deploy/grafana/att-dashboard.json"), "utf8")) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const dashboardExprs = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}
const rules = (
  yaml.load(readFileSync(join(REPO, "deploy/prometheus/alerts.yml"), "utf8")) as {
    groups: { name: string; rules: Rule[] }[];
  }
).groups.flatMap((g) => g.rules);

describe("the metric-name check itself", () => {
  it("flags a name the code does not export and accepts histogram series", async () => {
    const known = await knownMetrics();
    expect(known.get("att_score_consumer_lag")).toBe("gauge");
    expect(unknownNames("rate(att_score_dlqq_total[5m])", known)).toEqual(["att_score_dlqq_total"]);
    expect(unknownNames("sum(rate(att_score_batch_size_bucket[5m]))", known)).toEqual([]);
    expect(unknownNames("att_score_dlq_total_count", known)).toEqual(["att_score_dlq_total_count"]);
  });
});

describe("deploy/grafana/att-dashboard.json", () => {
  it("queries only metrics the code exports", async () => {
    const known = await knownMetrics();
    const bad = dashboardExprs.flatMap((e) => unknownNames(e.expr, known).map((n) => `${e.panel}: ${n}`));
    expect(bad).toEqual([]);
    expect(dashboardExprs.length).toBeGreaterThan(30);
    for (const e of dashboardExprs) expect(balanced(e.expr), e.expr).toBe(true);
  });

  it("shows every stage's key metrics", () => {
    const all = dashboardExprs.map((e) => e.expr).join("\n");
    for (const name of [
      "att_ingest_blocks_behind_head",
      "att_ingest_blocks_published_total",
      "att_ingest_ws_reconnects_total",
      "att_ingest_reorgs_total",
      "att_ingest_backfill_remaining_blocks",
      "att_score_consumer_lag",
      "att_score_batch_size_bucket",
      "att_score_feature_seconds_bucket",
      "att_score_model_seconds_bucket",
      "att_score_findings_total",
      "att_score_anomaly_rate",
      "att_score_anomaly_score_bucket",
      "att_score_dlq_total",
      "att_enrich_queue_jobs",
      "att_enrich_api_calls_total",
      "att_enrich_rate_limit_wait_seconds_total",
      "att_enrich_cache_hit_ratio",
      "att_drift_anomaly_rate_z",
      "att_drift_score_psi",
      "att_drift_feature_psi",
      "att_drift_alarm",
    ])
      expect(all, name).toContain(name);
  });

  it("is an importable dashboard: unique panel ids, the datasource variable, a 24-column grid", () => {
    expect(dashboard.uid).toBe("att-stream");
    expect(dashboard.templating.list.find((v) => v.type === "datasource")?.name).toBe("datasource");
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== "row") expect(p.datasource?.uid, p.title).toBe("${datasource}");
    }
  });
});

describe("deploy/prometheus/alerts.yml", () => {
  it("references only metrics the code exports, in well-formed expressions", async () => {
    const known = await knownMetrics();
    const bad = rules.flatMap((r) => unknownNames(r.expr, known).map((n) => `${r.alert}: ${n}`));
    expect(bad).toEqual([]);
    for (const r of rules) expect(balanced(r.expr), r.alert).toBe(true);
  });

  it("alerts on lag growth, drift, DLQ growth, a stalled or lagging ingest and rate-limit waits", () => {
    const byMetric = (name: string) => rules.filter((r) => r.expr.includes(name)).map((r) => r.alert);
    expect(byMetric("att_score_consumer_lag")).toContain("AttScoreConsumerLagGrowing");
    expect(rules.find((r) => r.alert === "AttScoreConsumerLagGrowing")!.expr).toMatch(/deriv\(/);
    expect(byMetric("att_drift_alarm")).toContain("AttModelDrift");
    expect(byMetric("att_score_dlq_total")).toContain("AttScoreDlqGrowing");
    expect(byMetric("att_ingest_blocks_published_total")).toContain("AttIngestStalled");
    expect(byMetric("att_ingest_blocks_behind_head")).toContain("AttIngestBehindHead");
    expect(byMetric("att_enrich_rate_limit_wait_seconds_total")).toContain("AttEnrichRateLimited");
  });

  it("gives every rule a unique name, a severity and a summary", () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(["warning", "critical"], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      if (r.for) expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
    }
  });
});
