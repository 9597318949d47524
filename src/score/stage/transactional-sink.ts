import type { Admin, Kafka, Producer } from "../../kernel/kafka.js";
import type { Logger } from "../../kernel/logger.js";
import type { RoutedMessage } from "../../sink/router.js";

/**
 * Exactly-once output for one input partition: a transactional producer whose id is derived
 * from (group, topic, partition), so whoever owns the partition next fences the previous owner
 * (kafkajs's `sendOffsets` carries no member/generation — no KIP-447 — so fencing rests on the
 * transactional id, as in Kafka Streams' original EOS design).
 *
 * `fence()` must run before the first batch after every (re)assignment: it starts a fresh
 * producer (InitProducerId bumps the epoch, aborting or completing the previous owner's open
 * transaction) and only then reads the committed offset, which is therefore stable. Messages
 * below it were already turned into committed findings by the previous owner and are skipped.
 */
/** Bytes of record values and keys per produce request (well under the 1 MiB broker default). */
const MAX_REQUEST_BYTES = 512 * 1024;
/** Kept free in a request below the smallest topic limit: record batch headers and varints. */
const REQUEST_SLACK = 1024;

function recordBytes(r: RoutedMessage): number {
  let size = r.key.length + (r.value?.length ?? 0) + 64;
  if (r.headers) for (const k in r.headers) size += k.length + r.headers[k]!.length + 16;
  return size;
}

/**
 * Splits a transaction's records into produce requests of at most `maxBytes`: the broker checks
 * each partition's record batch against the topic's max.message.bytes, so a request must stay
 * below the smallest limit of the topics written (a record larger than that alone is sized to fit
 * by its writer, see src/sink/limits.ts). Order is kept: requests go out one after another.
 */
function* chunkBySize(records: RoutedMessage[], maxBytes: number): Generator<RoutedMessage[]> {
  let chunk: RoutedMessage[] = [];
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

export interface PartitionSink {
  readonly partition: number;
  /** Offset from which this owner must process (everything below is already committed). */
  readonly committedOffset: bigint;
  /** Writes `records` and commits `nextOffset` for the partition in one Kafka transaction. */
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
  const maxRequestBytes = Math.max(
    REQUEST_SLACK,
    Math.min(MAX_REQUEST_BYTES, (args.minMessageBytes ?? Infinity) - REQUEST_SLACK),
  );
  const { kafka, admin, groupId, topic, partition } = args;
  const transactionalId = `${args.transactionalIdPrefix}.${groupId}.${topic}.${partition}`;
  const producer: Producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
    allowAutoTopicCreation: false,
    // The broker answers CONCURRENT_TRANSACTIONS to AddPartitionsToTxn while it still writes the
    // previous transaction's markers, i.e. whenever a batch follows its predecessor quickly.
    // kafkajs then retries after its initialRetryTime (200 ms from the client config): measured
    // by bench/e2e.ts, ~10% of transactions waited ~250 ms. The Java client retries this after
    // 20 ms (KAFKA-5477); so do we. Unlimited retries as kafkajs's idempotent-producer default.
    retry: { initialRetryTime: 20, retries: Number.MAX_SAFE_INTEGER },
  });
  await producer.connect();
  // An empty transaction forces InitProducerId now (kafkajs initialises lazily): this is the fence.
  const init = await producer.transaction();
  await init.abort();

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
    async commit(records, nextOffset) {
      const txn = await producer.transaction();
      try {
        // Several requests per transaction when needed: one produce request must stay below the
        // broker's message.max.bytes (1 MiB by default) even when a batch's findings all hash
        // to one partition.
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
            topicMessages: [...byTopic].map(([t, messages]) => ({ topic: t, messages })),
          });
        }
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic, partitions: [{ partition, offset: nextOffset.toString() }] }],
        });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
    },
    close: () => producer.disconnect(),
  };
}
