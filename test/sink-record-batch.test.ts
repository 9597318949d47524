import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { kafkajsRecordBatchReplaced } from "../src/kernel/kafka/record-batch.js";
import { consoleConsume } from "./helpers/kafka-cli.js";
import { attKafkaClient } from "./helpers/kafka-clients.js";
import { createTestTopic } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { openTransactionalProducer } from "../src/kernel/kafka/index.js";
import { rng } from "./helpers/rng.js";

/**
 * src/kernel/kafka/record-batch.ts encodes the findings' record batches in one buffer each; it
 * must give exactly the bytes of kafkajs 2.2.4's own encoders, which are loaded here from their
 * files (the module cache holds ours in their place).
 */
const require = createRequire(import.meta.url);

function original<T>(file: string): T {
  const path = require.resolve(`kafkajs/${file}`);
  const m = new Module(path);
  m.filename = path;
  m.paths = (Module as unknown as { _nodeModulePaths(p: string): string[] })._nodeModulePaths(path);
  (m as unknown as { _compile(src: string, file: string): void })._compile(readFileSync(path, "utf8"), path);
  return m.exports as T;
}

type RecordFn = (r: object) => unknown;
type BatchFn = (b: object) => Promise<{ buffer: Buffer; size(): number }>;
const kafkajsRecord = original<RecordFn>("src/protocol/recordBatch/record/v0/index.js");
const kafkajsBatch = original<{ RecordBatch: BatchFn }>("src/protocol/recordBatch/v0/index.js").RecordBatch;
const oursRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as RecordFn;
const oursBatch = (require("kafkajs/src/protocol/recordBatch/v0/index.js") as { RecordBatch: BatchFn })
  .RecordBatch;
const Long = require("kafkajs/src/utils/long.js") as { fromValue(v: unknown): unknown };

const STRINGS = ["", "a", "é中🚀", "x".repeat(127), "y".repeat(128), "z".repeat(2000), "\u0000\ud800"];

function randomMessage(r: () => number, i: number) {
  const pick = () => STRINGS[Math.floor(r() * STRINGS.length)]!;
  const bytes = () => (r() < 0.3 ? randomBytes(Math.floor(r() * 300)) : pick());
  const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
  const nh = Math.floor(r() * 3);
  for (let h = 0; h < nh; h++)
    headers[`h${h}${pick().slice(0, 3)}`] = r() < 0.2 ? [pick(), bytes()] : bytes();
  return {
    key: r() < 0.1 ? null : bytes(),
    value: r() < 0.1 ? null : bytes(),
    headers,
    offsetDelta: i,
    timestampDelta: r() < 0.5 ? 0 : Math.floor((r() - 0.2) * 2 ** 40),
  };
}

describe("the one-buffer record batch encoder", () => {
  it("is what kafkajs encodes produced batches with once src/kernel/kafka/patches.ts is loaded", () => {
    expect(kafkajsRecordBatchReplaced()).toBe(true);
    expect(oursRecord).not.toBe(kafkajsRecord);
  });

  it("writes the same bytes as kafkajs's encoders for random batches, uncompressed and gzip", async () => {
    const r = rng(42);
    for (let b = 0; b < 60; b++) {
      const n = b === 0 ? 0 : Math.floor(r() * 40) + 1;
      const messages = Array.from({ length: n }, (_, i) => randomMessage(r, i));
      const batch = {
        compression: b % 3 === 2 ? 1 : 0,
        firstOffset: Long.fromValue(b * 1000),
        firstTimestamp: 1_700_000_000_000 + b,
        maxTimestamp: 1_700_000_000_500 + b,
        partitionLeaderEpoch: b,
        lastOffsetDelta: n - 1,
        transactional: b % 2 === 0,
        producerId: Long.fromValue(123456789012 + b),
        producerEpoch: b % 7,
        firstSequence: b * 17,
      };
      const theirs = await kafkajsBatch({ ...batch, records: messages.map(kafkajsRecord) });
      const ours = await oursBatch({ ...batch, records: messages.map(oursRecord) });
      // zlib's gzip is deterministic (no timestamp in its header): compressed batches compare too.
      expect(ours.buffer.equals(theirs.buffer), `batch ${b}`).toBe(true);
      expect(ours.size()).toBe(ours.buffer.length);
    }
  });

  it("writes batches the broker and Kafka's own console consumer read back", async () => {
    const topic = await createTestTopic("record-batch", 2);
    const kafka = attKafkaClient("test");
    const producer = await openTransactionalProducer(kafka, {
      transactionalId: uniqueName("record-batch-tx"),
      maxRequestBytes: 512 * 1024,
    });
    const records = Array.from({ length: 300 }, (_, i) => ({
      topic,
      key: `key-${i}-é`,
      value: i % 50 === 7 ? null : JSON.stringify({ i, s: "中🚀".repeat(i % 5), pad: "p".repeat(i * 7) }),
      headers: { "att-alert-id": i % 2 ? "A" : "B" },
    }));
    try {
      await producer.commit(records);
    } finally {
      await producer.close();
    }
    const read = await consoleConsume({
      topic,
      readCommitted: true,
      timeoutMs: 20_000,
      expected: records.length,
    });
    expect(read.length).toBe(records.length);
    const byKey = new Map(read.map((m) => [m.key, m.value]));
    for (const r of records) expect(byKey.get(r.key)).toBe(r.value ?? null);
  });
});
