#!/usr/bin/env node
// Readiness probe for the local Kafka broker (used by deploy/local/stack.sh).
//
//   node deploy/local/wait-kafka.mjs [--broker 127.0.0.1:9092] [--timeout 90] [--pid N] [--quick]
//
// 1. Waits until the broker answers metadata requests (admin.listTopics + fetchTopicMetadata).
// 2. Unless --quick: warms up what the first transactional consume-transform-produce needs, once,
//    so that tests do not pay for it: creates the probe topic, runs one transaction that
//    produces a record and sends offsets for a consumer group, and commits it. That makes the
//    broker create __transaction_state and __consumer_offsets and elect their leaders.
// Exits 0 when ready, 1 on timeout (or when --pid is given and that process died).
import { Kafka, logLevel } from "kafkajs";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const broker = arg("broker", `127.0.0.1:${process.env.ATT_KAFKA_PORT ?? "9092"}`);
const timeoutMs = Number(arg("timeout", "90")) * 1000;
const pid = arg("pid", undefined);
const quick = process.argv.includes("--quick");
const probeTopic = "att.local.probe";
const started = Date.now();
const deadline = started + timeoutMs;
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);

function processAlive() {
  if (!pid) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let lastError = "";
function fail(msg) {
  console.error(`wait-kafka: ${msg}${lastError ? ` (last error: ${lastError})` : ""}`);
  process.exit(1);
}

// Retries `fn` until it succeeds, the deadline passes or the broker process dies.
async function retry(what, fn) {
  for (;;) {
    if (!processAlive()) fail(`broker process ${pid} exited while waiting for ${what}`);
    if (Date.now() > deadline) fail(`timed out after ${elapsed()} s waiting for ${what}`);
    try {
      return await fn();
    } catch (err) {
      lastError = err?.message ?? String(err);
      await sleep(250);
    }
  }
}

const kafka = new Kafka({
  clientId: "att-local-probe",
  brokers: [broker],
  connectionTimeout: 1000,
  requestTimeout: 10000,
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 },
});

const admin = kafka.admin({ retry: { retries: 0 } });
await retry("a connection", () => admin.connect());
await retry("metadata", async () => {
  await admin.listTopics();
  const cluster = await admin.describeCluster();
  if (!cluster.brokers.length) throw new Error("no brokers in metadata");
});
console.log(`wait-kafka: ${broker} answers metadata after ${elapsed()} s`);

if (!quick) {
  await retry("the probe topic", async () => {
    await admin.createTopics({
      topics: [{ topic: probeTopic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.fetchTopicMetadata({ topics: [probeTopic] });
  });

  const producer = kafka.producer({
    transactionalId: "att-local-probe",
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  await retry("a transactional producer", () => producer.connect());
  await retry("a committed transaction", async () => {
    const txn = await producer.transaction();
    try {
      await txn.send({
        topic: probeTopic,
        messages: [{ key: "probe", value: JSON.stringify({ at: new Date().toISOString() }) }],
      });
      await txn.sendOffsets({
        consumerGroupId: "att-local-probe",
        topics: [{ topic: probeTopic, partitions: [{ partition: 0, offset: "0" }] }],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => {});
      throw err;
    }
  });
  await producer.disconnect();
  console.log(`wait-kafka: transactions and consumer-group offsets work after ${elapsed()} s`);
}

await admin.disconnect();
process.exit(0);
