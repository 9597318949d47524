import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { onTestFinished } from "vitest";
import { spawnChild } from "./child-process.js";

/**
 * Debian's prometheus and promtool (deploy/local/stack.sh install brings them) for the tests of
 * deploy/prometheus/: the shipped rules, their unit tests and the scrape config.
 */

/** deploy/prometheus/, with a trailing slash. */
export const PROMETHEUS_DIR = fileURLToPath(new URL("../../deploy/prometheus/", import.meta.url));
const LOG_DIR = fileURLToPath(new URL("../../.local/logs/tests/", import.meta.url));

/** The binary's path, or a message saying how to install it. */
export function findBinary(name: "prometheus" | "promtool"): { path?: string; missing?: string } {
  try {
    const path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    if (path) return { path };
  } catch {
    // not on PATH
  }
  return { missing: `${name} not found: run deploy/local/stack.sh install (Debian's prometheus package)` };
}

export interface ToolResult {
  code: number;
  output: string;
}

/** Runs `promtool <args>` from deploy/prometheus/ (stdout and stderr together; 127 if missing). */
export function promtool(args: string[], cwd = PROMETHEUS_DIR): Promise<ToolResult> {
  const bin = findBinary("promtool");
  if (!bin.path) return Promise.resolve({ code: 127, output: bin.missing! });
  const path = bin.path;
  return new Promise((resolve) => {
    execFile(path, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** One alerting rule of alerts.yml (the fields the tests read). */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
}

/** The alerting rules of deploy/prometheus/alerts.yml, in file order. */
export function shippedAlerts(): AlertRule[] {
  const doc = yaml.load(readFileSync(join(PROMETHEUS_DIR, "alerts.yml"), "utf8")) as {
    groups: { rules: AlertRule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}

interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  static_configs?: { targets: string[] }[];
  [key: string]: unknown;
}
interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

/**
 * deploy/prometheus/prometheus.local.yml made to watch a test's processes: each job named in
 * `targets` scrapes those addresses instead (jobs not named are dropped), scrape and evaluation
 * run every `interval`, and the rule files are the shipped ones (absolute paths). Everything else
 * is the shipped file's.
 */
export function localConfigFor(targets: Record<string, string[]>, interval: string): string {
  const doc = yaml.load(
    readFileSync(join(PROMETHEUS_DIR, "prometheus.local.yml"), "utf8"),
  ) as PrometheusConfig;
  const jobs = doc.scrape_configs.filter((j) => targets[j.job_name]);
  const unknown = Object.keys(targets).filter((name) => !jobs.some((j) => j.job_name === name));
  if (unknown.length > 0) throw new Error(`prometheus.local.yml has no job ${unknown.join(", ")}`);
  return yaml.dump({
    ...doc,
    global: { ...doc.global, scrape_interval: interval, evaluation_interval: interval },
    rule_files: (doc.rule_files ?? []).map((f) => join(PROMETHEUS_DIR, f)),
    scrape_configs: jobs.map((j) => ({ ...j, static_configs: [{ targets: targets[j.job_name] }] })),
  });
}

/** An alert as Prometheus's /api/v1/alerts lists it. */
export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  value: string;
}

export interface RunningPrometheus {
  url: string;
  /** The alerts Prometheus holds now (pending and firing). */
  alerts(): Promise<ApiAlert[]>;
  /** The scrape targets' health by job (`up`, `down`, `unknown`). */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  /** An instant query's vector result. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  output(): string;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/**
 * Runs the real Prometheus on `config` (YAML text), listening on 127.0.0.1:`port`, with its data
 * in a temporary folder; resolves once /-/ready answers. Stopped (SIGTERM, then SIGKILL) and its
 * folder removed when the test ends.
 */
export async function startPrometheus(config: string, port: number): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "att-prometheus-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, config);
  const url = `http://127.0.0.1:${port}`;
  const p = spawnChild(
    `prometheus-${port}`,
    "prometheus",
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { logDir: LOG_DIR },
  );
  onTestFinished(async () => {
    await p.stop("SIGTERM", 5000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`prometheus exited ${p.child.exitCode}:\n${p.output()}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready on ${url} after 30 s:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async alerts() {
      return (await api<{ alerts: ApiAlert[] }>(`${url}/api/v1/alerts`)).alerts;
    },
    async targets() {
      const data = await api<{
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      }>(`${url}/api/v1/targets?state=active`);
      return data.activeTargets.map((t) => ({
        job: t.labels.job!,
        health: t.health,
        lastError: t.lastError,
      }));
    },
    async query(expr) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result;
    },
    output: p.output,
  };
}
