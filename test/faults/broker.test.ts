import { Writable } from "node:stream";
import type { Admin, Kafka } from "kafkajs";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseFinding } from "../../src/contracts/finding.js";
import { loadConfig } from "../../src/kernel/config/index.js";
import { createTopicsReady } from "../../src/kernel/kafka/index.js";
import { createLogger } from "../../src/kernel/logger.js";
import { Registry } from "../../src/kernel/metrics.js";
import { createScoreStage } from "../../src/score/stage.js";
import { uniqueName } from "../helpers/names.js";
import { kafkajsClient } from "../helpers/kafka-clients.js";
import { startPrivateKafka } from "../helpers/private-stack.js";
import { sleep } from "../../src/kernel/shutdown.js";
import { testPrefix, testRedis } from "../helpers/redis.js";
import { REDIS_URL } from "../helpers/services.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../helpers/transfers.js";
import { consoleConsume } from "../helpers/kafka-cli.js";
import { reportFault, tallyFindings } from "./harness.js";

const TOTAL = 3000;
const PER_SEND = 20;
const DOWN_MS = 15_000;

interface LogLine {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}
const ERROR = 50;
const WARN = 40;

/** A logger at debug level whose JSON lines the test reads back. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level: "debug", destination }), lines };
}

/** True once the broker answers a metadata request (one attempt, short timeouts). */
async function answersMetadata(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function committedOffsets(admin: Admin, group: string, topic: string): Promise<string[]> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return t!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();
}

/** Every record of `topic` that a read_committed reader gets, until nothing new came for `idleMs`. */
async function readAllCommitted(kafka: Kafka, topic: string, idleMs = 3000) {
  const consumer = kafka.consumer({ groupId: uniqueName("reader"), readUncommitted: false });
  await consumer.connect();
  onTestFinished(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { key: string | null; value: string | null }[] = [];
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      last = Date.now();
      out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null });
    },
  });
  while (out.length === 0 || Date.now() - last < idleMs) await sleep(200);
  await consumer.stop();
  return out;
}

describe("score stage across a broker restart (private broker, SIGKILL)", () => {
  it(
    "commits again after the broker restarts, with exactly one finding per transaction and one quiet summary of the outage in the log",
    { timeout: 240_000 },
    async () => {
      const broker = await startPrivateKafka();
      // The test's own clients reconnect within 250 ms: their backoff must not be what is measured.
      const client = kafkajsClient({
        brokers: broker.brokers,
        retry: { initialRetryTime: 100, maxRetryTime: 250, retries: 1000 },
      });
      const topics = {
        transfers: uniqueName("recovery-transfers"),
        findings: uniqueName("recovery-findings"),
        dlq: uniqueName("recovery-dlq"),
      };
      const admin = client.admin();
      await admin.connect();
      onTestFinished(() => admin.disconnect());
      await createTopicsReady(admin, [
        { topic: topics.transfers, numPartitions: 2, replicationFactor: 1 },
        { topic: topics.findings, numPartitions: 2, replicationFactor: 1 },
        { topic: topics.dlq, numPartitions: 1, replicationFactor: 1 },
      ]);
      const group = uniqueName("recovery");
      const prefix = testPrefix("recovery");
      const txs = syntheticTxs(TOTAL, { seed: 613 });
      await seedEnrichmentCache(testRedis(), prefix, txs);

      const { logger, lines } = capturingLogger();
      const registry = new Registry();
      const stage = await createScoreStage({
        config: loadConfig({
          ATT_KAFKA_BROKERS: broker.brokers.join(","),
          ATT_REDIS_URL: REDIS_URL,
          ATT_REDIS_PREFIX: prefix,
          ATT_TOPIC_TRANSFERS: topics.transfers,
          ATT_TOPIC_FINDINGS: topics.findings,
          ATT_TOPIC_DLQ: topics.dlq,
          ATT_SCORE_GROUP_ID: group,
          ATT_SCORE_TRANSACTIONAL_ID_PREFIX: group,
          ATT_SCORE_BATCH_MAX: "50",
          ATT_METRICS_PORT: "0",
          // Nothing listens here: every lookup is served by the seeded cache.
          ATT_RPC_HTTP_URL: "http://127.0.0.1:9",
        }),
        logger,
        registry,
      });
      onTestFinished(() => stage.stop());
      await stage.start();
      /** Chunks committed so far (the stage's own metric: one observation per committed transaction). */
      const commits = async () => {
        const text = await registry.getSingleMetricAsString("att_score_commit_seconds");
        return Number(/^att_score_commit_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
      };

      // A steady stream (~200 tx/s) that goes on through the outage. kafkajs's producer gives up
      // on a send whose broker refuses connections: the same batch is sent again. The producer is
      // idempotent, so a batch that the broker had written before it died is not written twice
      // (checked below: the input holds each transaction once).
      const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      onTestFinished(() => producer.disconnect());
      let produced = 0;
      const producing = (async () => {
        while (produced < TOTAL) {
          const batch = txs.slice(produced, produced + PER_SEND);
          const sent = await producer
            .send({ topic: topics.transfers, messages: toKafkaMessages(batch) })
            .then(
              () => true,
              () => false,
            );
          if (sent) produced += batch.length;
          await sleep(sent ? 100 : 250);
        }
      })();

      await expect.poll(commits, { timeout: 60_000 }).toBeGreaterThan(5);
      const killedAt = Date.now();
      await broker.kill();
      const commitsBefore = await commits();
      await sleep(DOWN_MS);
      const restarting = broker.start();
      while (!(await answersMetadata(client, topics.transfers))) await sleep(100);
      const answeredAt = Date.now();
      await expect.poll(commits, { timeout: 60_000, interval: 20 }).toBeGreaterThan(commitsBefore);
      const recoveredAt = Date.now();
      await restarting;
      console.log(
        `kafka-recovery: first commit ${((recoveredAt - answeredAt) / 1000).toFixed(2)} s after the restarted broker answered metadata (${((recoveredAt - killedAt) / 1000).toFixed(1)} s after the SIGKILL)`,
      );

      await producing;
      const high = (await admin.fetchTopicOffsets(topics.transfers))
        .map((p) => `${p.partition}:${p.high}`)
        .sort();
      await expect
        .poll(() => committedOffsets(admin, group, topics.transfers), { timeout: 60_000, interval: 500 })
        .toEqual(high);
      await stage.stop();

      // Exactly one finding per uniqueKey, and one per transaction of the input.
      const input = await readAllCommitted(client, topics.transfers);
      expect(input).toHaveLength(TOTAL);
      const records = await readAllCommitted(client, topics.findings);
      const perKey = new Map<string, number>();
      const perTx = new Map<string, number>();
      for (const r of records) {
        const f = parseFinding(r.value!);
        if (f.alertId === "MODEL-DRIFT") continue;
        perKey.set(r.key!, (perKey.get(r.key!) ?? 0) + 1);
        const hash = f.source.transactions![0]!.hash;
        perTx.set(hash, (perTx.get(hash) ?? 0) + 1);
      }
      expect({
        keys: perKey.size,
        duplicatedKeys: [...perKey.values()].filter((n) => n > 1).length,
        missingTxs: txs.filter((t) => !perTx.has(t.txHash)).length,
        txsWithSeveralFindings: [...perTx.values()].filter((n) => n > 1).length,
      }).toEqual({ keys: TOTAL, duplicatedKeys: 0, missingTxs: 0, txsWithSeveralFindings: 0 });

      // The log: kafkajs's retried errors at debug, one summary of the outage.
      const sinceKill = lines.filter((l) => l.time >= killedAt);
      const kafkajsLoud = sinceKill.filter((l) => l.level >= WARN && l.msg.startsWith("kafkajs:"));
      expect(kafkajsLoud.map((l) => `${l.level} ${l.msg}`)).toEqual([]);
      const retried = sinceKill.filter(
        (l) => l.level < WARN && l.msg.startsWith("kafkajs: Connection error"),
      );
      expect(
        retried.length,
        "the outage produced retried connection errors (logged at debug)",
      ).toBeGreaterThan(0);
      const lost = sinceKill.filter((l) => l.msg === "Kafka connection lost; retrying");
      const restored = sinceKill.filter((l) => l.msg === "Kafka connection restored");
      expect(lost.map((l) => l.level)).toEqual([WARN]);
      expect(restored).toHaveLength(1);
      expect(restored[0]).toMatchObject({ level: 30, broker: broker.brokers[0], client_id: "att-score" });
      expect(restored[0]!.retried_errors).toBeGreaterThan(0);
      expect(restored[0]!.outage_seconds).toBeGreaterThanOrEqual(DOWN_MS / 1000);
      const errors = sinceKill.filter((l) => l.level >= ERROR);
      console.log(
        `kafka-recovery: log since the SIGKILL at warn or above: ${JSON.stringify(
          sinceKill.filter((l) => l.level >= WARN).map((l) => `${l.level} ${l.msg}`),
        )}`,
      );
      expect(errors.map((l) => l.msg)).toEqual([]);

      // The same count by Kafka's own console consumer (read_committed), not our client.
      const counted = await consoleConsume({
        topic: topics.findings,
        bootstrap: broker.bootstrap,
        readCommitted: true,
        timeoutMs: 20_000,
        expected: TOTAL,
      });
      const t = tallyFindings(
        counted,
        txs.map((x) => x.txHash),
      );
      expect({ missing: t.missing.length, duplicates: t.duplicates }).toEqual({ missing: 0, duplicates: 0 });
      reportFault({
        case: `broker SIGKILL, ${DOWN_MS / 1000} s down, restart mid-stream`,
        n: TOTAL,
        findings: t.findings,
        duplicates: t.duplicates,
        missing: t.missing.length,
        dlq: 0,
        recoverySec: (recoveredAt - answeredAt) / 1000,
        countedBy: "kafka-console-consumer",
        note: `first commit ${((recoveredAt - answeredAt) / 1000).toFixed(2)} s after the broker answered metadata; ${sinceKill.filter((l) => l.level >= WARN).length} lines at warn or above since the kill, 0 from kafkajs`,
      });
    },
  );
});
