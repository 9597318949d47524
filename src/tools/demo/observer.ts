import { parseFinding } from "../../contracts/finding.js";
import { parseTokenTransferTx } from "../../contracts/token-transfer-tx.js";
import type { Consumer, Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";
import type { Tracker } from "./tracker.js";

/**
 * The demo's view of the pipeline's output: one read-committed consumer (kafkajs reads
 * committed data unless told otherwise) of the transfers topic (observedAt per transaction)
 * and the findings topic (what the pipeline concluded), feeding the tracker. Its own group,
 * from the beginning of the per-run topics.
 */
export async function startObserver(opts: {
  kafka: Kafka;
  groupId: string;
  transfersTopic: string;
  findingsTopic: string;
  tracker: Tracker;
  logger: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    readUncommitted: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.transfersTopic, opts.findingsTopic], fromBeginning: true });
  let bad = 0;
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ topic, message }) => {
      if (!message.value) return;
      try {
        if (topic === opts.transfersTopic) opts.tracker.published(parseTokenTransferTx(message.value));
        else opts.tracker.finding(parseFinding(message.value));
      } catch (err) {
        if (bad++ < 5)
          opts.logger.warn({
            msg: "Demo observer skipped an unreadable message",
            topic,
            err: (err as Error).message,
          });
      }
    },
  });
  return {
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
