import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { tcpReachable } from "../src/kernel/net.js";
import { kafkajsClient } from "./helpers/kafka-clients.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** Processes whose environment mentions `needle` (the demo gives its children per-run names). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, "latin1").includes(needle)) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface DemoReport {
  runId: string;
  seed: number;
  ok: boolean;
  sent: { total: number; single: number; swap: number; batch: number; exploit: number };
  findings: { total: number; missing: number; invalid: number };
  exploits: { injected: number; detected: number; recall: number };
  normal: { scored: number; anomalous: number; anomalyRate: number };
  latencyMs: { n: number; p50: number; p99: number };
  processes: { name: string; pid: number; exit?: number | string }[];
}

describe("att demo", () => {
  it("runs the whole pipeline for 60 s, catches the injected exploits without flagging normal traffic, and leaves nothing running", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "demo", "--duration", "60", "--json"],
      {
        cwd: REPO,
        env: { ...process.env, ATT_LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, stderr).toBe(0);

    const report = JSON.parse(stdout.trim().split("\n").pop()!) as DemoReport;
    // the mix of traffic the simulator is built to send
    expect(report.sent.total).toBeGreaterThan(1000);
    for (const kind of ["single", "swap", "batch"] as const) expect(report.sent[kind]).toBeGreaterThan(50);
    expect(report.exploits.injected).toBeGreaterThanOrEqual(10);
    // every transaction got its finding, read back from Kafka
    expect(report.findings.missing).toBe(0);
    expect(report.findings.total).toBe(report.sent.total);
    expect(report.findings.invalid).toBe(0);
    // the targets
    expect(report.exploits.recall).toBeGreaterThanOrEqual(0.9);
    expect(report.normal.scored).toBeGreaterThan(1000);
    expect(report.normal.anomalyRate).toBeLessThanOrEqual(0.01);
    expect(report.latencyMs.n).toBe(report.sent.total);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    expect(report.ok).toBe(true);
    expect(stderr).toContain("sending 20 tx/s");

    // nothing it started is left: its children, and anything carrying its run's names
    expect(report.processes.map((p) => p.name)).toEqual(
      expect.arrayContaining(["ingest", "enrich", "score"]),
    );
    for (const p of report.processes) expect(alive(p.pid), `${p.name} (pid ${p.pid})`).toBe(false);
    expect(processesMentioning(`att.demo.${report.runId}.`)).toEqual([]);

    // and its per-run topics are gone
    const admin = kafkajsClient().admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.includes(report.runId))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  }, 240_000);

  it("starts its own Kafka and Redis when none answer, and on Ctrl-C ends the traffic, waits for the last findings, stops every process it started and prints the summary", async () => {
    // Ports where nothing listens: the demo must start Kafka and Redis itself, as on a fresh
    // machine, in a private state folder (the Kafka jars are shared, not fetched again).
    const local = mkdtempSync(join(tmpdir(), "att-demo-stack-"));
    onTestFinished(() => {
      spawnSync("bash", ["deploy/local/stack.sh", "stop"], {
        cwd: REPO,
        env: { ...process.env, ...stackEnv },
      });
      rmSync(local, { recursive: true, force: true });
    });
    const stackEnv = {
      ATT_LOCAL_DIR: local,
      ATT_JARS_DIR: join(REPO, ".local", "jars"),
      ATT_KAFKA_PORT: "29092",
      ATT_KAFKA_CONTROLLER_PORT: "29093",
      ATT_REDIS_PORT: "26379",
      ATT_KAFKA_BROKERS: "127.0.0.1:29092",
      ATT_REDIS_URL: "redis://127.0.0.1:26379",
    };
    for (const port of [29092, 26379])
      expect(await tcpReachable("127.0.0.1", port, 500), `port ${port} free`).toBe(false);
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "demo", "--json"], {
      cwd: REPO,
      env: { ...process.env, ...stackEnv, ATT_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const trafficSeen = new Promise<void>((resolve) =>
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (/\[demo [0-9:]+\] sending .*sent [1-9]/.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await Promise.race([trafficSeen, exited]);
    child.kill("SIGINT");
    const code = await exited;
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("SIGINT: stopping the demo");
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as DemoReport;
    expect(report.sent.total).toBeGreaterThan(0);
    expect(report.findings.missing).toBe(0);
    for (const p of report.processes) expect(alive(p.pid), `${p.name} (pid ${p.pid})`).toBe(false);
    expect(processesMentioning(`att.demo.${report.runId}.`)).toEqual([]);
    // The Kafka and Redis it started are stopped again.
    const logs = /logs in (\S+)/.exec(stderr)![1]!;
    const stackRuns = readFileSync(join(logs, "demo.log"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"msg":"deploy/local/stack.sh"'))
      .map((l) => JSON.parse(l) as { args: string; code: number });
    expect(stackRuns.map((r) => [r.args, r.code])).toEqual([
      ["start kafka redis", 0],
      ["stop kafka redis", 0],
    ]);
    for (const port of [29092, 26379])
      expect(await tcpReachable("127.0.0.1", port, 500), `port ${port}`).toBe(false);
    expect(processesMentioning(local)).toEqual([]);
  }, 300_000);
});
