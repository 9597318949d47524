import "../src/kernel/kafkajs-fix.js";
import { describe, expect, it } from "vitest";
import { logLevel, type LogEntry } from "kafkajs";
import { logKafka } from "../src/kernel/kafka.js";
import type { Logger } from "../src/kernel/logger.js";

function recorder() {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (o: { msg: string }): void => {
      lines.push({ level, msg: o.msg });
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

describe("kafkajs log routing", () => {
  it("logs what kafkajs retries (CONCURRENT_TRANSACTIONS) or the stage already logged (its batch failures) at debug, real errors at error", () => {
    const { lines, logger } = recorder();
    const concurrent =
      "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing";
    logKafka(
      logger,
      entry(logLevel.ERROR, "Response AddPartitionsToTxn(key: 24, version: 1)", { error: concurrent }),
    );
    logKafka(logger, entry(logLevel.ERROR, `Failed to send messages: ${concurrent}`));
    logKafka(
      logger,
      entry(logLevel.ERROR, "Response Produce(key: 0, version: 7)", {
        error: "The request included a message larger than the max message size the server will accept",
      }),
    );
    logKafka(
      logger,
      entry(logLevel.ERROR, "Error when calling eachBatch", {
        stack: "BatchFailedError: Batch failed, to be re-read: x",
      }),
    );
    logKafka(logger, entry(logLevel.ERROR, "Error when calling eachBatch", { stack: "TypeError: boom" }));
    logKafka(logger, entry(logLevel.WARN, "KafkaJS v2.0.0 switched default partitioner"));
    logKafka(logger, entry(logLevel.WARN, "Broker not reachable"));
    expect(lines).toEqual([
      { level: "debug", msg: "kafkajs: Response AddPartitionsToTxn(key: 24, version: 1)" },
      { level: "debug", msg: `kafkajs: Failed to send messages: ${concurrent}` },
      { level: "error", msg: "kafkajs: Response Produce(key: 0, version: 7)" },
      { level: "debug", msg: "kafkajs: Error when calling eachBatch" },
      { level: "error", msg: "kafkajs: Error when calling eachBatch" },
      { level: "warn", msg: "kafkajs: Broker not reachable" },
    ]);
  });
});
