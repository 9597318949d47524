import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { describeConfig, loadConfig, secretValues, sections } from "../src/kernel/config/index.js";
import { redisTarget } from "../src/kernel/config/redis.js";
import { createLogger } from "../src/kernel/logger.js";
import { ConfigError } from "../src/kernel/errors.js";
import { runAtt } from "./helpers/processes.js";

describe("configuration", () => {
  it("uses documented defaults when nothing is set", () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(c.kafka.topicTransfers).toBe("att.token-transfers.v1");
    expect(c.kafka.topicFindings).toBe("att.findings.v1");
    expect(c.kafka.topicDlq).toBe("att.dlq.v1");
  });

  it("names the variable, what it got and what it expected for every bad value", () => {
    let err: unknown;
    try {
      loadConfig({ ATT_METRICS_PORT: "70000", ATT_REDIS_URL: "http://x", ATT_LOG_LEVEL: "loud" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('ATT_METRICS_PORT: got "70000" (string), expected an integer between 0 and 65535');
    expect(msg).toContain("ATT_REDIS_URL");
    expect(msg).toContain("scheme redis or rediss");
    expect(msg).toContain('ATT_LOG_LEVEL: got "loud"');
    expect(msg).toContain("3 problems");
  });

  it("keeps secrets out of log lines, wherever they appear", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const env = { ATT_KAFKA_SASL_PASSWORD: "hunter2-sasl-secret" };
    const logger = createLogger({ secrets: secretValues(env), destination });
    logger.error({
      msg: "Request failed",
      url: "https://api.etherscan.io/api?module=account&apikey=ABCDEF123456",
      err: new Error("auth failed for hunter2-sasl-secret"),
    });
    logger.info({ msg: "Config", kafka: { saslPassword: "hunter2-sasl-secret" }, apiKey: "zzz" });
    await new Promise((r) => setTimeout(r, 10));
    const out = lines.join("");
    expect(out).toContain("Request failed");
    expect(out).not.toContain("hunter2-sasl-secret");
    expect(out).not.toContain("ABCDEF123456");
    expect(out).not.toContain("zzz");
    expect(out).toContain("apikey=***");
  });

  it("reads a Redis Sentinel URL, and names what is wrong with a bad Redis URL without its password", () => {
    const c = loadConfig({
      ATT_REDIS_URL: "redis+sentinel://:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/att-redis/2",
    });
    expect(redisTarget(c.redis.url)).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26379 },
        { host: "::1", port: 26380 },
      ],
      name: "att-redis",
      db: 2,
      password: "p@ss",
    });
    expect(redisTarget(loadConfig({}).redis.url)).toEqual({ kind: "server", url: "redis://127.0.0.1:6379" });
    const problem = (url: string) => {
      try {
        loadConfig({ ATT_REDIS_URL: url });
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    };
    for (const bad of [
      "redis+sentinel://:hunter2-redis@h1:26379/", // no master name
      "redis+sentinel://:hunter2-redis@h1:99999/att-redis", // port out of range
      "redis+sentinel://:hunter2-redis@h1:26379/att-redis/16", // db out of range
      "redis+cluster://:hunter2-redis@h1:7000", // Cluster is not supported
      "http://:hunter2-redis@h1:6379",
    ]) {
      const msg = problem(bad);
      expect(msg, bad).toContain("ATT_REDIS_URL: got");
      expect(msg, bad).toContain("redis+sentinel://[:password@]host[:port][,host[:port]…]/<master name>");
      expect(msg, bad).toContain("Fix: set ATT_REDIS_URL");
      expect(msg, bad).toContain(":***@h1");
      expect(msg, bad).not.toContain("hunter2-redis");
    }
  });

  it("keeps a Sentinel URL's password out of log lines", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ destination });
    const url = "redis+sentinel://att:hunter2-sentinel@10.0.0.1:26379,10.0.0.2:26379/att-redis";
    logger.warn({ msg: "Redis connection lost", url, err: new Error(`connect to ${url} failed`) });
    await new Promise((r) => setTimeout(r, 10));
    const out = lines.join("");
    expect(out).toContain("redis+sentinel://att:***@10.0.0.1:26379,10.0.0.2:26379/att-redis");
    expect(out).not.toContain("hunter2-sentinel");
  });

  it("stops the CLI with the clear message and a non-zero exit code", async () => {
    const r = await runAtt(["config", "--check"], { ATT_KAFKA_BROKERS: "not a broker" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'ATT_KAFKA_BROKERS: got "not a broker" (string), expected a comma-separated list',
    );
    expect(r.stderr).toContain("Fix: set ATT_KAFKA_BROKERS");
  });

  it("accepts a valid environment", async () => {
    const r = await runAtt(["config", "--check"], { ATT_KAFKA_BROKERS: "10.0.0.1:9092,10.0.0.2:9092" });
    expect(r.stdout).toContain("configuration ok");
    expect(r.code).toBe(0);
  });

  it("lets a flag win over its variable, and names the variable and the flag when the flag's value is bad", async () => {
    const env = { ATT_INGEST_FROM_BLOCK: "5", ATT_INGEST_CONFIRMATIONS: "3" };
    const c = loadConfig(env, { ingest: { fromBlock: "7" } });
    expect(c.ingest.fromBlock).toBe(7);
    expect(c.ingest.confirmations).toBe(3);
    expect(() => loadConfig(env, { ingest: { fromBlock: "seven" } })).toThrow(
      /ATT_INGEST_FROM_BLOCK, given by its command-line flag: got "seven" \(string\), expected/,
    );
    const r = await runAtt(["ingest", "--from-block", "-4"], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ATT_INGEST_FROM_BLOCK, given by its command-line flag: got "-4"');
  });

  it("refuses option combinations that cannot work, saying which option to set", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problems({ ATT_FINDINGS_NORMAL: "topic" })).toMatch(
      /ATT_FINDINGS_NORMAL: got topic, but ATT_TOPIC_FINDINGS_NORMAL is not set.*Fix: set ATT_TOPIC_FINDINGS_NORMAL/,
    );
    expect(problems({ ATT_FINDINGS_NORMAL: "topic", ATT_TOPIC_FINDINGS_NORMAL: "att.normal.v1" })).toBe("");
    expect(problems({ ATT_TOPIC_ALERTS: "att.findings.v1" })).toMatch(
      /ATT_TOPIC_ALERTS: got att.findings.v1, the main findings topic/,
    );
    const sasl = problems({
      ATT_KAFKA_SASL_MECHANISM: "scram-sha-512",
      ATT_KAFKA_SASL_PASSWORD: "pw-secret-1",
    });
    expect(sasl).toMatch(
      /ATT_KAFKA_SASL_MECHANISM: got scram-sha-512, but ATT_KAFKA_SASL_USERNAME is not set/,
    );
    expect(sasl).not.toContain("pw-secret-1");
  });

  it("documents every option with its default, and att config prints them all", async () => {
    const all = Object.values(sections).flatMap((section) => Object.values(section));
    expect(all.length).toBeGreaterThan(50);
    for (const opt of all) {
      expect(opt.env, "variable name").toMatch(/^ATT_[A-Z0-9_]+$/);
      expect(opt.doc.length, `${opt.env} has a description`).toBeGreaterThan(5);
      expect(opt.expected.length, `${opt.env} says what it expects`).toBeGreaterThan(2);
    }
    expect(new Set(all.map((o) => o.env)).size).toBe(all.length);
    const text = describeConfig("text");
    const r = await runAtt(["config"], {});
    expect(r.code).toBe(0);
    for (const opt of all) {
      const line = r.stdout.split("\n").find((l) => l.trimStart().startsWith(`${opt.env} `));
      expect(line, `att config lists ${opt.env}`).toBeDefined();
      expect(text).toContain(opt.env);
    }
    expect(r.stdout).toMatch(/ATT_STATS_STABLE_WAIT_MS\s+10000\s/);
  });

  it("answers --version and --help", async () => {
    const v = await runAtt(["--version"], {});
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await runAtt(["--help"], {});
    for (const cmd of ["ingest", "score", "enrich", "replay", "tx", "stats", "model", "simulate", "demo"]) {
      expect(h.stdout).toContain(cmd);
    }
  });
});
