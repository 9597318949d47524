// The Kafka clients of tests and benchmarks, made in one place: kafkajs's full API (independent
// of ours) and our client (src/kernel/kafka/), both silent. The patches load before kafkajs
// (vitest's setupFiles do that for tests too; bench scripts rely on this import).
import "../../src/kernel/kafka/patches.js";
import { Kafka, logLevel, type RetryOptions } from "kafkajs";
import { loadConfig } from "../../src/kernel/config/index.js";
import { createKafka, type Kafka as AttKafka } from "../../src/kernel/kafka/index.js";
import { createLogger } from "../../src/kernel/logger.js";
import { KAFKA_BROKERS } from "./services.js";

/** A kafkajs client; by default on the local stack (ATT_KAFKA_BROKERS) as "att-test". */
export function kafkajsClient(
  opts: { clientId?: string; brokers?: string[]; retry?: RetryOptions } = {},
): Kafka {
  return new Kafka({
    clientId: opts.clientId ?? "att-test",
    brokers: opts.brokers ?? KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
}

/** Our client, for the code under test or measurement that takes one. */
export function attKafkaClient(stage: string, brokers: string[] = KAFKA_BROKERS): AttKafka {
  return createKafka(loadConfig({ ATT_KAFKA_BROKERS: brokers.join(",") }).kafka, {
    logger: createLogger({ level: "silent" }),
    stage,
  });
}
