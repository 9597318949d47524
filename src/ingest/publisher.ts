import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { serializeTokenTransferTx } from "../contracts/token-transfer-tx.js";
import { UpstreamError } from "../kernel/errors.js";
import { KafkaError, openTransactionalProducer, type Kafka } from "../kernel/kafka/index.js";
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

/** Upper bound of the record bytes in one produce request. */
const MAX_REQUEST_BYTES = 256 * 1024;

/** Raised by Publisher.commit for every Kafka failure (retryable unless fenced). */
export class PublishError extends UpstreamError {}

/** The client's own error behind a KafkaError (the messages keep their single "Cause:" line). */
const clientCause = (err: unknown) => (err instanceof KafkaError ? err.cause : err);

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
  let producer;
  try {
    producer = await openTransactionalProducer(opts.kafka, {
      transactionalId: opts.transactionalId,
      transactionTimeoutMs: opts.transactionTimeoutMs ?? 60_000,
      maxRequestBytes: MAX_REQUEST_BYTES,
    });
  } catch (err) {
    if (err instanceof KafkaError && err.kind === "fenced")
      throw new ProducerFencedError("Kafka fenced this ingester at start-up", { cause: clientCause(err) });
    throw new PublishError("Could not initialise the transactional producer", {
      code: "ATT_KAFKA_PUBLISH_FAILED",
      cause: clientCause(err),
    });
  }
  const key = (cp: Checkpoint) => String(cp.chainId);

  return {
    async commit(messages, checkpoint, beforeCommit) {
      // The checkpoint goes last: with the last messages' request when it fits.
      const records = messages.map((m) => ({
        topic: opts.topicTransfers,
        key: m.from,
        value: serializeTokenTransferTx(m),
      }));
      records.push({
        topic: opts.topicCheckpoint,
        key: key(checkpoint),
        value: encodeCheckpoint(checkpoint),
      });
      try {
        await producer.commit(records, beforeCommit ? { beforeCommit } : {});
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        if (err.kind === "fenced") {
          throw new ProducerFencedError(
            "Kafka fenced this ingester: another one uses the same transactional.id",
            {
              cause: clientCause(err),
            },
          );
        }
        throw new PublishError("Kafka transaction failed", {
          code: "ATT_KAFKA_PUBLISH_FAILED",
          cause: clientCause(err),
          details: [`Block: ${checkpoint.blockNumber}`, `Messages: ${messages.length}`],
        });
      }
    },
    async close() {
      await producer
        .close()
        .catch((err: unknown) =>
          opts.logger.warn({ msg: "Kafka producer disconnect failed", err: String(err) }),
        );
    },
  };
}
