import { describe, expect, it } from "vitest";
import { ModelError, ShutdownError, UpstreamError, ValidationError } from "../src/kernel/errors.js";
import { PoisonTracker, poisonCause } from "../src/score/poison.js";
import { dlqMessage } from "../src/score/processor.js";

/** kafkajs's shapes: a protocol error, and the wrapper its retrier puts around it. */
function kafkaError(type: string, retriable: boolean) {
  return Object.assign(new Error(`broker says ${type}`), { name: "KafkaJSProtocolError", type, retriable });
}
function wrapped(inner: Error) {
  return Object.assign(new Error(inner.message), { name: "KafkaJSNonRetriableError", cause: inner });
}

describe("poison classification", () => {
  it("counts the broker's refusal of the records at commit, however kafkajs wraps it", () => {
    expect(poisonCause(kafkaError("MESSAGE_TOO_LARGE", false), "commit")?.code).toBe(
      "ATT_KAFKA_MESSAGE_TOO_LARGE",
    );
    expect(poisonCause(wrapped(kafkaError("RECORD_LIST_TOO_LARGE", false)), "commit")?.code).toBe(
      "ATT_KAFKA_RECORD_LIST_TOO_LARGE",
    );
    const aggregate = Object.assign(new Error("several"), { errors: [kafkaError("INVALID_RECORD", false)] });
    expect(poisonCause(aggregate, "commit")?.code).toBe("ATT_KAFKA_INVALID_RECORD");
  });

  it("never counts fencing, unavailability or timeouts at commit: those are not the message's fault", () => {
    for (const type of [
      "PRODUCER_FENCED",
      "INVALID_PRODUCER_EPOCH",
      "CONCURRENT_TRANSACTIONS",
      "NOT_LEADER_FOR_PARTITION",
    ])
      expect(poisonCause(kafkaError(type, false), "commit")).toBeUndefined();
    expect(poisonCause(new Error("Connection timeout"), "commit")).toBeUndefined();
  });

  it("counts non-retryable processing errors, not retryable ones, shutdown or Kafka client errors", () => {
    expect(poisonCause(new ModelError("NaN input", { code: "ATT_MODEL_INPUT" }), "process")?.code).toBe(
      "ATT_MODEL_INPUT",
    );
    expect(poisonCause(new TypeError("x is undefined"), "process")?.code).toBe("ATT_INTERNAL");
    expect(poisonCause(new ValidationError("bad"), "process")?.code).toBe("ATT_INVALID_MESSAGE");
    expect(poisonCause(new UpstreamError("Redis down"), "process")).toBeUndefined();
    expect(poisonCause(new ShutdownError("stopping"), "process")).toBeUndefined();
    expect(poisonCause(kafkaError("UNKNOWN", true), "process")).toBeUndefined();
  });
});

describe("PoisonTracker", () => {
  it("isolates a chunk only after N consecutive failures starting at the same offset, per partition", () => {
    const t = new PoisonTracker(3);
    expect(t.strike(0, "10")).toBe(1);
    expect(t.strike(0, "10")).toBe(2);
    expect(t.shouldIsolate(0, "10")).toBe(false);
    expect(t.strike(1, "10")).toBe(1);
    expect(t.strike(0, "10")).toBe(3);
    expect(t.shouldIsolate(0, "10")).toBe(true);
    expect(t.shouldIsolate(1, "10")).toBe(false);
    // Progress (a chunk starting elsewhere) starts the count again.
    expect(t.strike(0, "42")).toBe(1);
    expect(t.shouldIsolate(0, "10")).toBe(false);
    t.clear(1);
    expect(t.strike(1, "10")).toBe(1);
  });
});

describe("DLQ records", () => {
  it("keep the original bytes and never carry an API key that an error message quoted", () => {
    const m = {
      topic: "t",
      partition: 2,
      offset: "41",
      timestamp: "1700000000000",
      key: Buffer.from("0xabc"),
      value: Buffer.from([0xff, 0xfe, 0x00]),
    };
    const rec = dlqMessage(
      m,
      {
        code: "ATT_X",
        message: "GET https://api.etherscan.io/api?module=account&apikey=SECRET123KEY failed",
      },
      "dlq",
    );
    expect(rec.value).not.toContain("SECRET123KEY");
    expect(JSON.stringify(rec.headers)).not.toContain("SECRET123KEY");
    const parsed = JSON.parse(rec.value!) as { valueBase64: string; source: { offset: string } };
    expect(Buffer.from(parsed.valueBase64, "base64")).toEqual(m.value);
    expect(parsed.source.offset).toBe("41");
    expect(rec.key).toBe("0xabc");
  });
});
