/**
 * The Kafka boundary: our own narrow interfaces (types.ts), the one client factory (client.ts),
 * the one transactional producer (transactional-producer.ts), topic and offset administration,
 * and Kafka errors mapped to our codes with a retryable flag (errors.ts). kafkajs (unmaintained
 * since 2023) is imported in this folder only — eslint.config.js refuses it elsewhere in src/ —
 * so swapping the client touches this folder only. Its internal files are patched in one place
 * (patches.ts, loaded here before kafkajs) for the exact version package.json pins.
 */
import "./patches.js";
import "./compression.js";

export type { Admin, Batch, Consumer, Kafka } from "./types.js";
export { createKafka, findingsCompressionOf } from "./client.js";
export { KafkaError, isKafkaClientError, kafkaErrorInfo } from "./errors.js";
export { createTopicsReady, ensureTopics, readMaxMessageBytes, standardTopics } from "./topics.js";
export { commitGroupOffsets, fetchHighWatermarks } from "./offsets.js";
export { openTransactionalProducer } from "./transactional-producer.js";
