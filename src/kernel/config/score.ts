import { bool, int, oneOf, optional, str } from "./option.js";

const topicName = /^[a-zA-Z0-9._-]{1,249}$/;

/** `att score`: the consumer group that turns transfers into findings. */
export const scoreOptions = {
  groupId: str(
    "ATT_SCORE_GROUP_ID",
    "att-score",
    "Consumer group id. A second group (e.g. a shadow model) needs its own id and findings topic.",
    { pattern: /^[a-zA-Z0-9._-]+$/ },
  ),
  transactionalIdPrefix: str(
    "ATT_SCORE_TRANSACTIONAL_ID_PREFIX",
    "att-score",
    "Prefix of the per-partition transactional ids (fencing zombies after a rebalance).",
    { pattern: /^[a-zA-Z0-9._-]+$/ },
  ),
  batchMaxSize: int(
    "ATT_SCORE_BATCH_MAX",
    1000,
    "Messages per processing batch = one model call and one Kafka transaction.",
    { min: 1, max: 50_000 },
  ),
  poisonAttempts: int(
    "ATT_SCORE_POISON_ATTEMPTS",
    3,
    "A chunk that fails this many times in a row for a reason that can be a message's own (the broker refuses its finding, a non-retryable feature or model error) is processed one message at a time; a message that still fails goes to the DLQ with the reason.",
    { min: 1, max: 1000 },
  ),
  maxMessageBytes: int(
    "ATT_SCORE_MAX_MESSAGE_BYTES",
    1_048_576,
    "Input messages larger than this are dead-lettered without being parsed (ATT_INPUT_TOO_LARGE); the DLQ record keeps a prefix, the size and the sha256 when the original does not fit the DLQ topic.",
    { min: 1024 },
  ),
  partitionsConcurrently: int(
    "ATT_SCORE_PARTITIONS_CONCURRENTLY",
    2,
    "Partitions processed at the same time by one process.",
    { min: 1, max: 64 },
  ),
  maxBytesPerPartition: int(
    "ATT_SCORE_MAX_BYTES_PER_PARTITION",
    1_048_576,
    "Fetch size per partition: bounds memory together with ATT_SCORE_MAX_BYTES.",
    { min: 1024 },
  ),
  maxBytes: int("ATT_SCORE_MAX_BYTES", 8_388_608, "Fetch size per request (all partitions).", { min: 1024 }),
  sessionTimeoutMs: int(
    "ATT_SCORE_SESSION_TIMEOUT_MS",
    8000,
    "Group session timeout: how long a replica that stopped heartbeating (SIGKILL, node loss, an event loop blocked this long) holds its partitions before the others get them. Heartbeats continue during long batches, so only a process that cannot run at all for this long is expelled. The broker refuses values outside its group.min/max.session.timeout.ms (6 s and 30 min by default).",
    { min: 1000, max: 300_000 },
  ),
  heartbeatIntervalMs: int(
    "ATT_SCORE_HEARTBEAT_MS",
    500,
    "Group heartbeat interval, also while a batch is processed. A replica learns of a rebalance (a replica joined or left) at its next heartbeat, so this bounds the hand-over delay; at most a third of ATT_SCORE_SESSION_TIMEOUT_MS.",
    { min: 100, max: 60_000 },
  ),
  rebalanceTimeoutMs: int(
    "ATT_SCORE_REBALANCE_TIMEOUT_MS",
    60_000,
    "How long a rebalance waits for every replica to finish its batch in flight and rejoin; a replica that takes longer is dropped from the new generation (its late commit is fenced). At least ATT_SCORE_SESSION_TIMEOUT_MS.",
    { min: 1000, max: 1_800_000 },
  ),
  fromBeginning: bool(
    "ATT_SCORE_FROM_BEGINNING",
    true,
    "A new group (no committed offsets) starts at the earliest offset; false = latest.",
  ),
  enrichDeadlineMs: int(
    "ATT_SCORE_ENRICH_DEADLINE_MS",
    30_000,
    "How long a batch waits for enrichment before the transaction gets an INVALID finding saying why.",
    { min: 10, max: 3_600_000 },
  ),
  normalFindings: oneOf(
    "ATT_FINDINGS_NORMAL",
    ["main", "off", "topic"] as const,
    "main",
    "NORMAL findings: on the main findings topic (as the ATT bot), off, or on ATT_TOPIC_FINDINGS_NORMAL.",
  ),
  normalTopic: optional(
    str("ATT_TOPIC_FINDINGS_NORMAL", undefined, "Topic for NORMAL findings when ATT_FINDINGS_NORMAL=topic.", {
      pattern: topicName,
    }),
  ),
  alertsTopic: optional(
    str("ATT_TOPIC_ALERTS", undefined, "Extra topic that receives only ANOMALOUS and INVALID findings.", {
      pattern: topicName,
    }),
  ),
  explainTopK: int(
    "ATT_SCORE_EXPLAIN_TOP_K",
    5,
    "Features listed in each anomalous finding's explanations.",
    { min: 0, max: 100 },
  ),
  explainNormal: bool(
    "ATT_SCORE_EXPLAIN_NORMAL",
    false,
    "Also explain NORMAL findings (costs ~0.1 ms per row).",
  ),
};

/**
 * The rules between the group timing options (one problem string each, Got/Expected/Fix). Kafka
 * wants several heartbeats per session (KIP-62: heartbeat.interval.ms at most a third of
 * session.timeout.ms), and a rebalance must wait at least as long as a session.
 */
export function groupTimingProblems(s: {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
}): string[] {
  const problems: string[] = [];
  if (s.heartbeatIntervalMs * 3 > s.sessionTimeoutMs)
    problems.push(
      `ATT_SCORE_HEARTBEAT_MS: got ${s.heartbeatIntervalMs}, more than a third of ATT_SCORE_SESSION_TIMEOUT_MS (${s.sessionTimeoutMs}): one late heartbeat would get a healthy replica expelled. Expected: at most ${Math.floor(s.sessionTimeoutMs / 3)}. Fix: lower ATT_SCORE_HEARTBEAT_MS or raise ATT_SCORE_SESSION_TIMEOUT_MS.`,
    );
  if (s.rebalanceTimeoutMs < s.sessionTimeoutMs)
    problems.push(
      `ATT_SCORE_REBALANCE_TIMEOUT_MS: got ${s.rebalanceTimeoutMs}, less than ATT_SCORE_SESSION_TIMEOUT_MS (${s.sessionTimeoutMs}). Expected: at least ${s.sessionTimeoutMs}. Fix: raise ATT_SCORE_REBALANCE_TIMEOUT_MS or lower ATT_SCORE_SESSION_TIMEOUT_MS.`,
    );
  return problems;
}
