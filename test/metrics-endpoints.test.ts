import { PassThrough } from "node:stream";
import { describe, expect, it, onTestFinished } from "vitest";
import { createLogger } from "../src/kernel/logger.js";
import { Counter, createMetricsRegistry, Registry, startHealthServer } from "../src/kernel/metrics.js";
import { createScoreMetrics } from "../src/score/metrics.js";
import { metricValue } from "./helpers/metrics.js";

function logSink() {
  const destination = new PassThrough();
  const chunks: Buffer[] = [];
  destination.on("data", (c: Buffer) => chunks.push(c));
  return { destination, text: () => Buffer.concat(chunks).toString("utf8") };
}

describe("every process's /metrics, /healthz and /readyz", () => {
  it("serves Prometheus text with the att_ process metrics and the stage label, liveness and readiness", async () => {
    const registry = createMetricsRegistry("ingest");
    new Counter({ name: "att_test_things_total", help: "Things.", registers: [registry] }).inc(3);
    const logger = createLogger({ level: "silent" });
    const server = await startHealthServer({ registry, port: 0, host: "127.0.0.1", logger });
    onTestFinished(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const body = await metrics.text();
    expect(body).toMatch(/^att_test_things_total\{stage="ingest"\} 3$/m);
    expect(body).toMatch(/^att_process_cpu_user_seconds_total\{stage="ingest"\} [\d.e-]+$/m);
    expect(body).toMatch(/^att_nodejs_eventloop_lag_seconds\{stage="ingest"\} [\d.e-]+$/m);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    let joined = false;
    server.addReadinessCheck("consumer-group", () => joined);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, failing: ["consumer-group"] });
    joined = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("structured logs", () => {
  it("are JSON lines with a fixed message and snake_case fields", () => {
    const sink = logSink();
    const logger = createLogger({ destination: sink.destination, name: "att-score" });
    logger.warn({ msg: "Batch failed; it will be re-read", partition: 3, first_offset: "120" });
    const line = JSON.parse(sink.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 40,
      name: "att-score",
      msg: "Batch failed; it will be re-read",
      partition: 3,
      first_offset: "120",
    });
    expect(typeof line.time).toBe("number");
  });

  it("never carry credentials from URLs, provider paths or auth headers", () => {
    const sink = logSink();
    const logger = createLogger({ destination: sink.destination });
    logger.error({
      msg: "Connection failed",
      redis_url: "redis://default:r3dis-pass@redis.internal:6379/0",
      rpc_url: "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
      ws_url: "wss://eth-mainnet.g.alchemy.com/v2/AbCdEf123456_-xyzXYZ0987",
      request: { headers: { authorization: "Bearer tok-123", cookie: "sid=abc" } },
      err: new Error("connect ECONNREFUSED redis://:r3dis-pass@10.0.0.1:6379"),
    });
    const out = sink.text();
    for (const secret of [
      "r3dis-pass",
      "0123456789abcdef0123456789abcdef",
      "AbCdEf123456_-xyzXYZ0987",
      "tok-123",
      "sid=abc",
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain("redis://default:***@redis.internal:6379/0");
    expect(out).toContain("https://mainnet.infura.io/v3/***");
    // Addresses and URLs without credentials stay readable.
    logger.info({ msg: "Connected", url: "http://127.0.0.1:8545", token: "0x" + "ab".repeat(20) });
    expect(sink.text()).toContain("http://127.0.0.1:8545");
    expect(sink.text()).toContain("0x" + "ab".repeat(20));
  });
});

describe("the score stage's anomaly-rate gauge", () => {
  it("is the share of anomalies among the last N scored transactions: older ones leave the window", async () => {
    const registry = new Registry();
    const m = createScoreMetrics(registry, { threshold: 0.5, windowSize: 100 });
    const rate = async () => metricValue(registry, "att_score_anomaly_rate");
    expect(await rate()).toBe(0);
    // 100 rows, 10 anomalous (scores at and above the threshold count).
    m.observeScores(
      Float32Array.from({ length: 100 }, (_, i) => (i < 10 ? (i === 0 ? 0.5 : 0.7) : 0.4)),
      10,
      100,
    );
    expect(await rate()).toBeCloseTo(0.1, 12);
    // 50 more normal rows push the first 50 out of the window, with all 10 anomalies.
    m.observeScores(new Float32Array(50).fill(0.35), 0, 50);
    expect(await rate()).toBe(0);
    // 25 anomalies: 25 of the last 100.
    m.observeScores(new Float32Array(25).fill(0.9), 25, 25);
    expect(await rate()).toBeCloseTo(0.25, 12);
    // The score histogram keeps every row, not only the window.
    expect(await metricValue(registry, "att_score_anomaly_score_count")).toBe(175);
  });
});
