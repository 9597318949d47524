import type { Admin, Consumer, ConsumerConfig, Producer, ProducerConfig } from "kafkajs";
import { createTopicsReady, type Kafka as AttKafka } from "../../src/kernel/kafka/index.js";
import { onTestFinished } from "vitest";
import { uniqueName } from "./names.js";
import { attKafkaClient, kafkajsClient } from "./kafka-clients.js";

/**
 * The tests' own kafkajs client (kafkajs's full API, independent of ours; vitest's setupFiles
 * load src/kernel/kafka/patches.ts before it).
 */
export const testKafka = kafkajsClient({ clientId: "att-test" });

/** Our client (src/kernel/kafka/), for the code under test that takes one. */
export const testClient: AttKafka = attKafkaClient("test");

/**
 * Creates a topic with a unique name for the current test and deletes it when the test ends.
 * Call inside a test (cleanup is registered with `onTestFinished`).
 */
export async function createTestTopic(prefix = "t", numPartitions = 1): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = await connectedAdmin();
  await createTopicsReady(admin, [{ topic, numPartitions, replicationFactor: 1 }]);
  onTestFinished(async () => {
    const a = await connectedAdmin();
    await a.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
  });
  return topic;
}

export async function connectedAdmin(): Promise<Admin> {
  const admin = testKafka.admin();
  await admin.connect();
  onTestFinished(() => admin.disconnect());
  return admin;
}

export async function connectedProducer(config: ProducerConfig = {}): Promise<Producer> {
  const producer = testKafka.producer(config);
  await producer.connect();
  onTestFinished(() => producer.disconnect());
  return producer;
}

export async function connectedConsumer(config: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  const consumer = testKafka.consumer({ groupId: uniqueName("g"), ...config });
  await consumer.connect();
  onTestFinished(() => consumer.disconnect());
  return consumer;
}

/** Reads every message of `topic` from the beginning until `count` arrived or `timeoutMs` passed. */
export async function readTopic(
  topic: string,
  count: number,
  opts: {
    timeoutMs?: number;
    readCommitted?: boolean;
    /** Also stop once nothing new arrived for this long (after the first message): read "everything". */
    idleMs?: number;
  } = {},
): Promise<
  {
    key: string | null;
    value: string | null;
    partition: number;
    offset: string;
    headers: Record<string, string>;
  }[]
> {
  const consumer = await connectedConsumer({ readUncommitted: !(opts.readCommitted ?? true) });
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: {
    key: string | null;
    value: string | null;
    partition: number;
    offset: string;
    headers: Record<string, string>;
  }[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.timeoutMs ?? 20_000);
    let idle: NodeJS.Timeout | undefined;
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (opts.idleMs) {
          clearTimeout(idle);
          idle = setTimeout(() => {
            clearTimeout(timer);
            resolve();
          }, opts.idleMs);
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          partition,
          offset: message.offset,
          headers,
        });
        if (out.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.stop();
  return out;
}
