import { bool, int, list, oneOf, optional, str } from "./option.js";

const topicName = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka connection and topic names (docs/contracts.md "Topics"). */
export const kafkaOptions = {
  brokers: list(
    "ATT_KAFKA_BROKERS",
    ["127.0.0.1:9092"],
    "Bootstrap brokers, host:port comma-separated.",
    /^[^\s:]+:\d{1,5}$/,
  ),
  clientId: str("ATT_KAFKA_CLIENT_ID", "att", "Kafka client id prefix (the stage name is appended)."),
  ssl: bool("ATT_KAFKA_SSL", false, "Connect with TLS (managed Kafka)."),
  saslMechanism: optional(
    oneOf(
      "ATT_KAFKA_SASL_MECHANISM",
      ["plain", "scram-sha-256", "scram-sha-512"] as const,
      "plain",
      "SASL mechanism; unset = no SASL.",
    ),
  ),
  saslUsername: optional(str("ATT_KAFKA_SASL_USERNAME", undefined, "SASL user name.")),
  saslPassword: optional(str("ATT_KAFKA_SASL_PASSWORD", undefined, "SASL password.", { secret: true })),
  connectionTimeoutMs: int("ATT_KAFKA_CONNECTION_TIMEOUT_MS", 10_000, "Broker connection timeout.", {
    min: 100,
  }),
  findingsCompression: oneOf(
    "ATT_FINDINGS_COMPRESSION",
    ["none", "gzip", "lz4", "zstd"] as const,
    "lz4",
    "Codec of the record batches att score writes (findings and DLQ records); consumers decompress transparently (docs/contracts.md).",
  ),
  requestTimeoutMs: int("ATT_KAFKA_REQUEST_TIMEOUT_MS", 30_000, "Broker request timeout.", { min: 100 }),
  topicTransfers: str(
    "ATT_TOPIC_TRANSFERS",
    "att.token-transfers.v1",
    "Token-transfer transactions (TokenTransferTx v1), keyed by sender.",
    { pattern: topicName },
  ),
  topicFindings: str("ATT_TOPIC_FINDINGS", "att.findings.v1", "Forta findings, keyed by uniqueKey.", {
    pattern: topicName,
  }),
  topicDlq: str(
    "ATT_TOPIC_DLQ",
    "att.dlq.v1",
    "Dead-letter topic: original bytes plus error code/message and source coordinates.",
    { pattern: topicName },
  ),
  topicPartitions: int(
    "ATT_TOPIC_PARTITIONS",
    6,
    "Partitions used when this process creates a missing topic.",
    { min: 1, max: 10_000 },
  ),
  topicReplicationFactor: int(
    "ATT_TOPIC_REPLICATION_FACTOR",
    1,
    "Replication factor used when this process creates a missing topic.",
    { min: 1, max: 7 },
  ),
};
