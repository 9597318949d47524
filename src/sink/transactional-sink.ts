import type { Admin, Kafka } from "../kernel/kafka/index.js";
import { findingsCompressionOf, openTransactionalProducer } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import type { RoutedMessage } from "./router.js";

/**
 * Exactly-once output for one input partition: the kernel's transactional producer with an id
 * derived from (group, topic, partition), so whoever owns the partition next fences the previous
 * owner (src/kernel/kafka/transactional-producer.ts explains why the id is what fences).
 *
 * Opening the sink must happen before the first batch after every (re)assignment: it starts a
 * fresh producer (InitProducerId bumps the epoch, aborting or completing the previous owner's open
 * transaction) and only then reads the committed offset, which is therefore stable. Messages
 * below it were already turned into committed findings by the previous owner and are skipped.
 */
/** Bytes of record values and keys per produce request (well under the 1 MiB broker default). */
const MAX_REQUEST_BYTES = 512 * 1024;
/** Kept free in a request below the smallest topic limit: record batch headers and varints. */
const REQUEST_SLACK = 1024;

export interface PartitionSink {
  readonly partition: number;
  /** Offset from which this owner must process (everything below is already committed). */
  readonly committedOffset: bigint;
  /** Writes `records` (in order) and commits `nextOffset` for the partition in one Kafka transaction. */
  commit(records: RoutedMessage[], nextOffset: bigint): Promise<void>;
  close(): Promise<void>;
}

export async function openPartitionSink(args: {
  kafka: Kafka;
  admin: Admin;
  logger: Logger;
  groupId: string;
  topic: string;
  partition: number;
  transactionalIdPrefix: string;
  /** The smallest max.message.bytes of the topics written (default: Kafka's 1 MiB). */
  minMessageBytes?: number;
}): Promise<PartitionSink> {
  // A request must stay below the smallest limit of the topics written, even when a batch's
  // findings all hash to one partition.
  const maxRequestBytes = Math.max(
    REQUEST_SLACK,
    Math.min(MAX_REQUEST_BYTES, (args.minMessageBytes ?? Infinity) - REQUEST_SLACK),
  );
  const { kafka, admin, groupId, topic, partition } = args;
  const transactionalId = `${args.transactionalIdPrefix}.${groupId}.${topic}.${partition}`;
  const producer = await openTransactionalProducer(kafka, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    maxRequestBytes,
    // The broker answers CONCURRENT_TRANSACTIONS to AddPartitionsToTxn while it still writes the
    // previous transaction's markers, i.e. whenever a batch follows its predecessor quickly.
    // kafkajs then retries after its initialRetryTime (200 ms from the client config): measured
    // by bench/e2e.ts, ~10% of transactions waited ~250 ms. The Java client retries this after
    // 20 ms (KAFKA-5477); so do we. Unlimited retries as kafkajs's idempotent-producer default.
    retry: { initialMs: 20, retries: Number.MAX_SAFE_INTEGER },
    // ATT_FINDINGS_COMPRESSION, carried by the client (src/kernel/kafka/compression.ts).
    compression: findingsCompressionOf(kafka),
  });

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const raw = offsets[0]?.partitions.find((p) => p.partition === partition)?.offset ?? "-1";
  const committedOffset = raw === "-1" ? -1n : BigInt(raw);
  args.logger.debug({
    msg: "Partition sink fenced",
    transactional_id: transactionalId,
    partition,
    committed_offset: raw,
  });

  return {
    partition,
    committedOffset,
    commit: (records, nextOffset) =>
      producer.commit(records, { offsets: { groupId, topic, partition, offset: nextOffset } }),
    close: () => producer.close(),
  };
}
