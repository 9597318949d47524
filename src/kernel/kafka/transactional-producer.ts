import type { Transaction } from "kafkajs";
import { kafkajsClientOf } from "./client.js";
import { compressionType, type Codec } from "./compression.js";
import { toKafkaError } from "./errors.js";
import { createMurmur2Partitioner } from "./partitioner.js";
import type { Kafka } from "./types.js";

/** One record to produce; the partition follows from the key (Kafka's default partitioner). */
export interface ProducedRecord {
  topic: string;
  key: string;
  /** null: a tombstone. */
  value: string | null;
  headers?: Record<string, string>;
}

/** The size a record adds to a produce request, with room for its record header and varints. */
function recordBytes(r: ProducedRecord): number {
  let size = r.key.length + (r.value?.length ?? 0) + 64;
  if (r.headers) for (const k in r.headers) size += k.length + r.headers[k]!.length + 16;
  return size;
}

/**
 * Splits a transaction's records into produce requests of at most `maxBytes`: the broker checks
 * each partition's record batch (kafkajs puts a request's records for one partition into one
 * batch) against the topic's max.message.bytes, so a request must stay below the smallest limit
 * of the topics written (a record larger than that alone is sized to fit by its writer, see
 * src/sink/limits.ts). Order is kept: requests go out one after another.
 */
function* chunkBySize(records: ProducedRecord[], maxBytes: number): Generator<ProducedRecord[]> {
  let chunk: ProducedRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

export interface TransactionalProducerOptions {
  transactionalId: string;
  /** Broker-side transaction timeout (default 60 s): an open transaction of a dead producer aborts after it. */
  transactionTimeoutMs?: number;
  /** Upper bound of one produce request's record bytes (keys, values, headers, per-record overhead). */
  maxRequestBytes: number;
  /**
   * Retries of a failed request, first after `initialMs` (default: the client's schedule,
   * src/kernel/kafka/client.ts). The broker answers CONCURRENT_TRANSACTIONS while it still writes
   * the previous transaction's markers, i.e. whenever a transaction follows its predecessor
   * quickly; a producer that commits back to back wants a short first wait.
   */
  retry?: { initialMs: number; retries: number };
  /** Codec of every record batch written (default none); readers decompress transparently. */
  compression?: Codec;
}

/** Offsets of a consumer group committed in the same transaction (consume-transform-produce). */
export interface TransactionOffsets {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: bigint;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  /**
   * One Kafka transaction: `records` in order, in produce requests of at most `maxRequestBytes`;
   * then `offsets` if given; then `beforeCommit`, which may throw (e.g. a lease was lost);
   * then the commit. Any failure aborts the transaction and throws: client failures as a
   * KafkaError (src/kernel/kafka/errors.ts: code, retryable, `kind: "fenced"` when another
   * producer took the transactional id), our own errors as they were thrown. When a commit's
   * outcome is unknown, the caller re-reads what it committed before writing again.
   */
  commit(
    records: ProducedRecord[],
    opts?: { offsets?: TransactionOffsets; beforeCommit?: () => void },
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects a transactional producer and fences at once: kafkajs initialises a producer lazily,
 * so an empty transaction (InitProducerId, no EndTxn) is begun and aborted. InitProducerId with
 * our transactional.id bumps the epoch, which fences any previous holder (a zombie) and aborts or
 * completes its open transaction; only then is what that holder committed stable to read.
 * Exactly-once therefore rests on the transactional id (kafkajs's `sendOffsets` carries no
 * member/generation: no KIP-447), as in Kafka Streams' original EOS design.
 *
 * Records are partitioned by src/kernel/kafka/partitioner.ts (kafkajs's default partitioner's
 * partitions, a faster hash).
 */
export async function openTransactionalProducer(
  kafka: Kafka,
  opts: TransactionalProducerOptions,
): Promise<TransactionalProducer> {
  const { maxRequestBytes } = opts;
  const compression = compressionType(opts.compression ?? "none");
  const producer = kafkajsClientOf(kafka).producer({
    transactionalId: opts.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: opts.transactionTimeoutMs ?? 60_000,
    allowAutoTopicCreation: false,
    createPartitioner: createMurmur2Partitioner,
    ...(opts.retry ? { retry: { initialRetryTime: opts.retry.initialMs, retries: opts.retry.retries } } : {}),
  });
  try {
    await producer.connect();
    const init = await producer.transaction();
    await init.abort(); // nothing was sent: no EndTxn, only the producer id/epoch
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    throw toKafkaError(err, "Could not initialise the transactional producer", [
      `Transactional id: ${opts.transactionalId}`,
    ]);
  }

  return {
    transactionalId: opts.transactionalId,
    async commit(records, { offsets, beforeCommit } = {}) {
      let txn: Transaction | undefined;
      try {
        txn = await producer.transaction();
        for (const chunk of chunkBySize(records, maxRequestBytes)) {
          const byTopic = new Map<
            string,
            { key: string; value: string | null; headers?: Record<string, string> }[]
          >();
          for (const r of chunk) {
            let list = byTopic.get(r.topic);
            if (!list) byTopic.set(r.topic, (list = []));
            list.push({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
          }
          await txn.sendBatch({
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            compression,
          });
        }
        if (offsets) {
          await txn.sendOffsets({
            consumerGroupId: offsets.groupId,
            topics: [
              {
                topic: offsets.topic,
                partitions: [{ partition: offsets.partition, offset: offsets.offset.toString() }],
              },
            ],
          });
        }
        beforeCommit?.();
        await txn.commit();
      } catch (err) {
        if (txn?.isActive()) await txn.abort().catch(() => undefined);
        throw toKafkaError(err, "Kafka transaction failed", [`Transactional id: ${opts.transactionalId}`]);
      }
    },
    close: () => producer.disconnect(),
  };
}
