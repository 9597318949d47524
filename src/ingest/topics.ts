import type { Config } from "../kernel/config/index.js";
import { ensureTopics, type Kafka } from "../kernel/kafka/index.js";
import type { IngesterOptions } from "./options.js";

/**
 * Creates the topics the ingester writes if they are missing: the transfers topic and the
 * compacted checkpoint topic (one partition: one record per chain id matters, the latest).
 */
export async function ensureIngestTopics(
  kafka: Kafka,
  options: Pick<IngesterOptions, "topicTransfers" | "topicCheckpoint">,
  kafkaConfig: Pick<Config["kafka"], "topicPartitions" | "topicReplicationFactor">,
): Promise<void> {
  await ensureTopics(kafka, [
    {
      topic: options.topicTransfers,
      numPartitions: kafkaConfig.topicPartitions,
      replicationFactor: kafkaConfig.topicReplicationFactor,
    },
    {
      topic: options.topicCheckpoint,
      numPartitions: 1,
      replicationFactor: kafkaConfig.topicReplicationFactor,
      configEntries: [
        { name: "cleanup.policy", value: "compact" },
        { name: "segment.ms", value: String(60 * 60 * 1000) },
      ],
    },
  ]);
}
