import { describe, expect, it } from "vitest";
import { logLevel, type LogEntry } from "kafkajs";
import { createKafkaLog } from "../src/kernel/kafka/log.js";
import type { Logger } from "../src/kernel/logger.js";

type Line = { level: string; msg: string } & Record<string, unknown>;

function recorder() {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (o: { msg: string }): void => {
      lines.push({ level, ...o });
    };
  const logger = {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
  } as unknown as Logger;
  return { lines, logger };
}

const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}): LogEntry => ({
  namespace: "test",
  level,
  label: "ERROR",
  log: { timestamp: "now", logger: "kafkajs", message, ...extra },
});

const levels = (lines: Line[]) => lines.map(({ level, msg }) => ({ level, msg }));

const BROKER = "127.0.0.1:9092";
const refused = (broker = BROKER) =>
  entry(logLevel.ERROR, `Connection error: connect ECONNREFUSED ${broker}`, { broker });
const seedRefused = (broker = BROKER) =>
  entry(
    logLevel.ERROR,
    `Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED ${broker}`,
    { retryCount: 3, retryTime: 1000 },
  );

describe("kafkajs log routing", () => {
  it("logs what kafkajs retries (CONCURRENT_TRANSACTIONS) or the stage already logged (its batch failures) at debug, real errors at error", () => {
    const { lines, logger } = recorder();
    const log = createKafkaLog(logger);
    const concurrent =
      "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing";
    log.entry(
      entry(logLevel.ERROR, "Response AddPartitionsToTxn(key: 24, version: 1)", { error: concurrent }),
    );
    log.entry(entry(logLevel.ERROR, `Failed to send messages: ${concurrent}`));
    log.entry(
      entry(logLevel.ERROR, "Response Produce(key: 0, version: 7)", {
        error: "The request included a message larger than the max message size the server will accept",
      }),
    );
    log.entry(
      entry(logLevel.ERROR, "Error when calling eachBatch", {
        stack: "BatchFailedError: Batch failed, to be re-read: x",
      }),
    );
    log.entry(entry(logLevel.ERROR, "Error when calling eachBatch", { stack: "TypeError: boom" }));
    log.entry(entry(logLevel.WARN, "KafkaJS v2.0.0 switched default partitioner"));
    log.entry(entry(logLevel.WARN, "Broker not reachable"));
    expect(levels(lines)).toEqual([
      { level: "debug", msg: "kafkajs: Response AddPartitionsToTxn(key: 24, version: 1)" },
      { level: "debug", msg: `kafkajs: Failed to send messages: ${concurrent}` },
      { level: "error", msg: "kafkajs: Response Produce(key: 0, version: 7)" },
      { level: "debug", msg: "kafkajs: Error when calling eachBatch" },
      { level: "error", msg: "kafkajs: Error when calling eachBatch" },
      { level: "warn", msg: "kafkajs: Broker not reachable" },
    ]);
  });

  it("summarises a broker outage in one warn when it begins and one info when the broker answers, with every retried error at debug", () => {
    const { lines, logger } = recorder();
    let now = 1_000_000;
    const log = createKafkaLog(logger, { clientId: "att-score", now: () => now });
    log.entry(entry(logLevel.ERROR, "Connection error: read ECONNRESET", { broker: BROKER }));
    for (let i = 0; i < 10; i++) {
      now += 1000;
      log.entry(refused());
      log.entry(seedRefused());
    }
    log.entry(
      entry(logLevel.ERROR, "Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED", {
        groupId: "g",
      }),
    );
    log.entry(
      entry(logLevel.ERROR, "Crash: KafkaJSNoBrokerAvailableError: No broker available", { groupId: "g" }),
    );
    log.entry(entry(logLevel.ERROR, "Restarting the consumer in 1000ms", { retryTime: 1000 }));
    now += 1500;
    log.answered(BROKER);
    // After the restart the broker still loads its coordinators: retried, and no new outage.
    log.entry(
      entry(logLevel.ERROR, "Response FindCoordinator(key: 10, version: 2)", {
        error: "The coordinator is loading and hence can't process requests for this group",
      }),
    );
    log.entry(entry(logLevel.WARN, "The group is rebalancing, re-joining", { error: "x" }));
    log.answered(BROKER);

    expect(lines.filter((l) => l.level !== "debug")).toEqual([
      {
        level: "warn",
        msg: "Kafka connection lost; retrying",
        client_id: "att-score",
        broker: BROKER,
        error: "Connection error: read ECONNRESET",
      },
      {
        level: "info",
        msg: "Kafka connection restored",
        client_id: "att-score",
        broker: BROKER,
        outage_seconds: 11.5,
        retried_errors: 24,
      },
    ]);
    expect(lines.filter((l) => l.level === "debug")).toHaveLength(26);
  });

  it("takes a connection error just after the broker answered for a stale socket, not a new outage; one after 2 s of silence opens one", () => {
    const { lines, logger } = recorder();
    let now = 1_000_000;
    const log = createKafkaLog(logger, { clientId: "att-score", now: () => now });
    log.entry(entry(logLevel.ERROR, "Connection error: read ECONNRESET", { broker: BROKER }));
    now += 15_000;
    log.answered(BROKER);
    // A producer's socket from before the outage fails on its next use, while the broker answers.
    now += 300;
    log.entry(entry(logLevel.ERROR, "Connection error: write EPIPE", { broker: BROKER }));
    log.answered(BROKER);
    // The broker goes away for real: the errors go on after its last answer.
    now += 2500;
    log.entry(entry(logLevel.ERROR, "Connection error: read ECONNRESET", { broker: BROKER }));
    const loud = lines.filter((l) => l.level !== "debug").map((l) => `${l.level} ${l.msg}`);
    expect(loud).toEqual([
      "warn Kafka connection lost; retrying",
      "info Kafka connection restored",
      "warn Kafka connection lost; retrying",
    ]);
  });

  it("keeps errors that need action at their level, and they do not start an outage", () => {
    const { lines, logger } = recorder();
    const log = createKafkaLog(logger);
    log.entry(
      entry(logLevel.ERROR, "SASL SCRAM SHA512 authentication failed: Authentication failed", {
        broker: BROKER,
      }),
    );
    log.entry(
      entry(logLevel.ERROR, "Response Metadata(key: 3, version: 6)", {
        broker: BROKER,
        error: "This server does not host this topic-partition",
      }),
    );
    log.entry(
      entry(logLevel.ERROR, "Response Produce(key: 0, version: 7)", {
        broker: BROKER,
        error: "Not authorized to access topics: [Topic authorization failed]",
      }),
    );
    log.answered(BROKER);
    expect(levels(lines)).toEqual([
      { level: "error", msg: "kafkajs: SASL SCRAM SHA512 authentication failed: Authentication failed" },
      { level: "error", msg: "kafkajs: Response Metadata(key: 3, version: 6)" },
      { level: "error", msg: "kafkajs: Response Produce(key: 0, version: 7)" },
    ]);
  });

  it("ends an outage only when a broker that failed answers, not when another one does", () => {
    const { lines, logger } = recorder();
    const log = createKafkaLog(logger);
    log.entry(refused("b1:9092"));
    log.answered("b2:9092");
    expect(lines.map((l) => l.msg)).not.toContain("Kafka connection restored");
    log.answered("b1:9092");
    // A second outage gets its own pair of lines.
    log.entry(refused("b2:9092"));
    log.answered("b2:9092");
    expect(levels(lines.filter((l) => l.level !== "debug"))).toEqual([
      { level: "warn", msg: "Kafka connection lost; retrying" },
      { level: "info", msg: "Kafka connection restored" },
      { level: "warn", msg: "Kafka connection lost; retrying" },
      { level: "info", msg: "Kafka connection restored" },
    ]);
  });
});
