import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { serializeTokenTransferTx } from "../contracts/token-transfer-tx.js";
import { AttError, UpstreamError } from "../kernel/errors.js";
import type { Kafka, Producer } from "../kernel/kafka.js";
import type { Logger } from "../kernel/logger.js";
import { encodeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { ProducerFencedError } from "./errors.js";

/** Writes blocks' messages and the checkpoint atomically (one Kafka transaction per call). */
export interface Publisher {
  /**
   * Publishes `messages` (keyed by sender) and `checkpoint` (keyed by chain id) in one Kafka
   * transaction. `beforeCommit` runs after the sends and may throw (e.g. the lease was lost):
   * the transaction is then aborted. Any failure aborts; when the outcome of a commit is
   * unknown, the caller must re-read the checkpoint before publishing again.
   */
  commit(messages: TokenTransferTx[], checkpoint: Checkpoint, beforeCommit?: () => void): Promise<void>;
  close(): Promise<void>;
}

/** Upper bound of the message bytes in one produce request. */
const MAX_REQUEST_BYTES = 256 * 1024;

function* chunkBySize(messages: TokenTransferTx[]): Generator<{ key: string; value: string }[]> {
  let chunk: { key: string; value: string }[] = [];
  let bytes = 0;
  for (const m of messages) {
    const value = serializeTokenTransferTx(m);
    if (chunk.length > 0 && bytes + value.length > MAX_REQUEST_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push({ key: m.from, value });
    bytes += value.length + m.from.length;
  }
  if (chunk.length > 0) yield chunk;
}

/** Raised by Publisher.commit for every Kafka failure (retryable unless fenced). */
export class PublishError extends UpstreamError {}

const FENCED = new Set([
  "INVALID_PRODUCER_EPOCH",
  "PRODUCER_FENCED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** Whether a kafkajs error (possibly wrapped in retries) says another producer took our transactional.id. */
export function isFenced(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { type?: string; originalError?: unknown; cause?: unknown };
    if (x.type && FENCED.has(x.type)) return true;
    e = x.originalError ?? x.cause;
  }
  return false;
}

/**
 * Connects a transactional producer and initialises it at once: InitProducerId with our
 * transactional.id bumps the epoch, which fences any previous holder (a zombie ingester) and
 * aborts its open transaction. Only then is the checkpoint safe to read.
 */
export async function openPublisher(opts: {
  kafka: Kafka;
  transactionalId: string;
  topicTransfers: string;
  topicCheckpoint: string;
  logger: Logger;
  transactionTimeoutMs?: number;
}): Promise<Publisher> {
  const producer: Producer = opts.kafka.producer({
    transactionalId: opts.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: opts.transactionTimeoutMs ?? 60_000,
  });
  await producer.connect();
  try {
    const init = await producer.transaction();
    await init.abort(); // nothing was sent: no EndTxn, only the producer id/epoch
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    if (isFenced(err))
      throw new ProducerFencedError("Kafka fenced this ingester at start-up", { cause: err });
    throw new PublishError("Could not initialise the transactional producer", {
      code: "ATT_KAFKA_PUBLISH_FAILED",
      cause: err,
    });
  }
  const key = (cp: Checkpoint) => String(cp.chainId);

  return {
    async commit(messages, checkpoint, beforeCommit) {
      const txn = await producer.transaction();
      try {
        // Several produce requests inside the one transaction, each under MAX_REQUEST_BYTES:
        // kafkajs puts a request's messages for one partition into one record batch, and the
        // broker refuses batches above message.max.bytes (1 MiB by default).
        // The checkpoint rides with the last chunk: one produce request fewer per commit.
        const chunks = [...chunkBySize(messages)];
        const last = chunks.pop() ?? [];
        for (const chunk of chunks) {
          await txn.send({ topic: opts.topicTransfers, messages: chunk, acks: -1 });
        }
        const cp = {
          topic: opts.topicCheckpoint,
          messages: [{ key: key(checkpoint), value: encodeCheckpoint(checkpoint) }],
        };
        await txn.sendBatch({
          topicMessages: last.length > 0 ? [{ topic: opts.topicTransfers, messages: last }, cp] : [cp],
          acks: -1,
        });
        beforeCommit?.();
        await txn.commit();
      } catch (err) {
        if (txn.isActive()) await txn.abort().catch(() => undefined);
        if (err instanceof AttError) throw err;
        if (isFenced(err)) {
          throw new ProducerFencedError(
            "Kafka fenced this ingester: another one uses the same transactional.id",
            {
              cause: err,
            },
          );
        }
        throw new PublishError("Kafka transaction failed", {
          code: "ATT_KAFKA_PUBLISH_FAILED",
          cause: err,
          details: [`Block: ${checkpoint.blockNumber}`, `Messages: ${messages.length}`],
        });
      }
    },
    async close() {
      await producer
        .disconnect()
        .catch((err: unknown) =>
          opts.logger.warn({ msg: "Kafka producer disconnect failed", err: String(err) }),
        );
    },
  };
}
