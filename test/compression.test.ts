import { existsSync, readdirSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/kernel/config/index.js";
import { ConfigError } from "../src/kernel/errors.js";
import { CODECS } from "../src/kernel/kafka/compression.js";
import { createKafka, findingsCompressionOf, openTransactionalProducer } from "../src/kernel/kafka/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { buildInvalidFinding } from "../src/sink/findings.js";
import { serializeScoredFinding } from "../src/sink/serialize.js";
import { consoleConsume } from "./helpers/kafka-cli.js";
import { kafkajsClient } from "./helpers/kafka-clients.js";
import { createTestTopic } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { KAFKA_BROKERS } from "./helpers/services.js";

// The local stack's broker storage (deploy/local/stack.sh: log.dirs=$ATT_LOCAL_DIR/kafka-data).
const KAFKA_DATA = new URL(`../${process.env.ATT_LOCAL_DIR ? "" : ".local/"}kafka-data/`, import.meta.url)
  .pathname;

/** Bytes of a topic's log segments on the local broker's disk, or undefined when that is not readable here. */
function topicBytesOnDisk(topic: string): number | undefined {
  if (process.env.ATT_LOCAL_DIR || !existsSync(KAFKA_DATA)) return undefined;
  let bytes = 0;
  for (const dir of readdirSync(KAFKA_DATA).filter((d) => d.startsWith(`${topic}-`)))
    for (const f of readdirSync(`${KAFKA_DATA}${dir}`).filter((x) => x.endsWith(".log")))
      bytes += statSync(`${KAFKA_DATA}${dir}/${f}`).size;
  return bytes;
}

/**
 * ATT_FINDINGS_COMPRESSION: findings and DLQ records written with each codec are read back
 * unchanged by Kafka's own console consumer (the broker and the Java client accept our lz4
 * frames and zstd) and by kafkajs (what att's own readers use).
 */
function findingValues(n: number): { key: string; value: string }[] {
  const model = { version: "1671000000", threshold: 0.5 };
  return Array.from({ length: n }, (_, i) => {
    const tx = {
      v: 1 as const,
      chainId: 1,
      blockNumber: 15_320_500 + i,
      blockHash: `0x${(i * 7919).toString(16).padStart(64, "a")}`,
      blockTimestamp: 1_660_000_000 + i * 12,
      txHash: `0x${(i * 104729).toString(16).padStart(64, "b")}`,
      txIndex: 0,
      from: `0x${(i % 97).toString(16).padStart(40, "c")}`,
      to: null,
      transfers: [],
      observedAt: 0,
    };
    if (i % 10 === 9) {
      const f = buildInvalidFinding(
        {
          tx,
          code: "ATT_ENRICHMENT_MISSING",
          reason: "token metadata unavailable: é中",
          featureTimeSec: 0.2,
        },
        model,
      );
      return { key: f.uniqueKey, value: JSON.stringify(f) };
    }
    const f = serializeScoredFinding(
      {
        tx,
        features: {
          USDC_transfers: i % 3,
          USDC_value: i * 1.5,
          transfer_counts: i % 5,
          account_active_period_in_minutes: i / 7,
        },
        maxSingleTokenName: "USDC",
        tokenTypes: ["USDC", "WETH"],
        score: 0.3 + (i % 40) / 100,
        anomalous: i % 40 > 25,
        explanations: [],
        featureTimeSec: 0.001,
        modelTimeSec: 0.00002,
      },
      model,
    );
    return { key: f.uniqueKey, value: f.value };
  });
}

describe("findings compression", () => {
  it("defaults to lz4 and refuses an unknown codec with Got/Expected", () => {
    expect(loadConfig({}).kafka.findingsCompression).toBe("lz4");
    expect(loadConfig({ ATT_FINDINGS_COMPRESSION: "zstd" }).kafka.findingsCompression).toBe("zstd");
    let err: unknown;
    try {
      loadConfig({ ATT_FINDINGS_COMPRESSION: "snappy" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('ATT_FINDINGS_COMPRESSION: got "snappy"');
    expect((err as Error).message).toContain("one of none, gzip, lz4, zstd");
  });

  it.each(CODECS)(
    "writes findings and DLQ records with %s that Kafka's console consumer and kafkajs read back unchanged",
    async (codec) => {
      const findings = await createTestTopic(`compression-${codec}-findings`, 3);
      const dlq = await createTestTopic(`compression-${codec}-dlq`, 1);
      const kafka = createKafka(
        loadConfig({ ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","), ATT_FINDINGS_COMPRESSION: codec }).kafka,
        { logger: createLogger({ level: "silent" }), stage: "test" },
      );
      expect(findingsCompressionOf(kafka)).toBe(codec);
      const producer = await openTransactionalProducer(kafka, {
        transactionalId: uniqueName(`compression-${codec}`),
        maxRequestBytes: 256 * 1024,
        compression: findingsCompressionOf(kafka),
      });
      const values = findingValues(400);
      const dlqRecord = {
        key: "k",
        value: JSON.stringify({ error: { code: "ATT_INVALID_JSON" }, original: "x".repeat(5000) }),
      };
      try {
        await producer.commit([
          ...values.map((v) => ({ topic: findings, ...v, headers: { "att-alert-id": "X" } })),
          { topic: dlq, ...dlqRecord },
        ]);
      } finally {
        await producer.close();
      }

      const java = await consoleConsume({
        topic: findings,
        readCommitted: true,
        timeoutMs: 20_000,
        expected: values.length,
      });
      expect(java.length).toBe(values.length);
      const byKey = new Map(java.map((r) => [r.key, r.value]));
      for (const v of values) expect(byKey.get(v.key)).toBe(v.value);
      const javaDlq = await consoleConsume({
        topic: dlq,
        readCommitted: true,
        timeoutMs: 20_000,
        expected: 1,
      });
      expect(javaDlq.map((r) => r.value)).toEqual([dlqRecord.value]);

      const consumer = kafkajsClient().consumer({ groupId: uniqueName("compression-read") });
      const read = new Map<string, string>();
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: findings, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ message }) => {
                read.set(message.key!.toString(), message.value!.toString());
                if (read.size === values.length) resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      for (const v of values) expect(read.get(v.key)).toBe(v.value);

      // The codec was applied: the broker stores the batches as written (compression.type=producer).
      const onDisk = topicBytesOnDisk(findings);
      const plain = values.reduce((a, v) => a + v.value.length, 0);
      if (onDisk === undefined)
        console.warn(`compression test: ${KAFKA_DATA} not readable; stored sizes not checked`);
      else if (codec === "none") expect(onDisk).toBeGreaterThan(plain);
      else expect(onDisk).toBeLessThan(plain / 3);
    },
    120_000,
  );
});
