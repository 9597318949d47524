import { int, str } from "./option.js";

const topicName = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Analyst labels and allow-lists (issue 16): the two compacted topics `att verdict` and
 * `att allowlist` write, `att stats` and the score stage read (docs/operations.md "Labels and
 * allow-lists"). Both are created with cleanup.policy=compact when missing.
 */
export const labelsOptions = {
  verdictsTopic: str(
    "ATT_VERDICTS_TOPIC",
    "att.verdicts.v1",
    "Compacted topic of analyst verdicts (Verdict v1), keyed <chainId>:<txHash>: precision and recall in att stats.",
    { pattern: topicName },
  ),
  allowlistTopic: str(
    "ATT_ALLOWLIST_TOPIC",
    "att.allowlist.v1",
    "Compacted topic of allow-listed addresses (Allow-list entry v1), keyed <chainId>:<address>: their findings are marked metadata.allowlisted and kept off the alerts topic.",
    { pattern: topicName },
  ),
  allowlistStartupTimeoutMs: int(
    "ATT_ALLOWLIST_STARTUP_TIMEOUT_MS",
    60_000,
    "How long att score waits at start-up to have read the allow-list topic to its end before it gives up (exit 75); scoring starts only after that.",
    { min: 1000, max: 3_600_000 },
  ),
};

/**
 * How a label topic is created when missing: compacted, so the latest record per key stays (a
 * later verdict replaces an earlier one, a tombstone removes an allow-list entry once
 * `delete.retention.ms` has passed); one partition, as the topics are small and read whole.
 */
export function labelTopicConfig(topic: string, kafka: { topicReplicationFactor: number }) {
  return {
    topic,
    numPartitions: 1,
    replicationFactor: kafka.topicReplicationFactor,
    configEntries: [
      { name: "cleanup.policy", value: "compact" },
      // Tombstones (allow-list removals) stay readable this long for replicas that restart.
      { name: "delete.retention.ms", value: String(7 * 86_400_000) },
    ],
  };
}
