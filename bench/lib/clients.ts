import { Redis } from "ioredis";
import { stackReachable } from "../../src/tools/demo/stack.js";
import { kafkajsClient } from "../../test/helpers/kafka-clients.js";
import { KAFKA_BROKERS, REDIS_URL } from "../../test/helpers/services.js";
import { deleteKeys } from "./redis.js";
import { createRssSampler } from "./rss.js";

/** Exits 2 with a hint when the local stack's Kafka or Redis does not answer. */
export async function requireStack(bench: string): Promise<void> {
  const up = await stackReachable(KAFKA_BROKERS, REDIS_URL);
  if (!up.kafka || !up.redis) {
    console.error(
      `bench/${bench}: Kafka or Redis not reachable; start the local stack: deploy/local/stack.sh start`,
    );
    process.exit(2);
  }
}

/** A benchmark's connections to the local stack: a kafkajs admin and producer, Redis, and an RSS sampler. */
export async function openBenchClients(clientId: string) {
  const kafka = kafkajsClient({ clientId });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const redis = new Redis(REDIS_URL);
  const rss = createRssSampler();
  return { kafka, admin, producer, redis, rss };
}

/** Stops the sampler, deletes the run's topics and its `${tag}*` Redis keys, closes the connections. */
export async function closeBenchClients(
  c: Awaited<ReturnType<typeof openBenchClients>>,
  topics: string[],
  tag: string,
): Promise<void> {
  c.rss.stop();
  await c.producer.disconnect().catch(() => undefined);
  await c.admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
  await c.admin.disconnect().catch(() => undefined);
  await deleteKeys(c.redis, `${tag}*`).catch(() => undefined);
  await c.redis.quit().catch(() => undefined);
}
