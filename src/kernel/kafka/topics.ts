import type { Config } from "../config/index.js";
import { topicsNotReady } from "./errors.js";
import type { Admin, Kafka, TopicConfig } from "./types.js";

/** Creates the topics that are missing; existing topics are left alone. */
export async function ensureTopics(kafka: Kafka, topics: TopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await createTopicsReady(admin, missing);
  } finally {
    await admin.disconnect();
  }
}

const SETTLING = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION"]);

/**
 * Creates topics and returns once every partition has a leader that serves requests. kafkajs' own
 * `waitForLeaders` retries only LEADER_NOT_AVAILABLE: on a loaded broker the metadata of a topic
 * just created can still answer UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this
 * topic-partition"), which it throws (kafkajs issue #815). And metadata can name a leader before
 * that broker acts as one: a produce then gets NOT_LEADER_FOR_PARTITION for some partitions, and
 * kafkajs retries the whole request, writing the partitions that had succeeded twice (3 topics
 * in 30 on a loaded machine here). So the wait ends only when every partition also answers
 * ListOffsets, which the leader serves through the same check as a produce. A wait that times
 * out is retryable (ATT_KAFKA_TOPICS_NOT_READY, exit 75).
 */
export async function createTopicsReady(
  admin: Pick<Admin, "createTopics" | "fetchTopicMetadata" | "fetchTopicOffsets">,
  topics: TopicConfig[],
  timeoutMs = 30_000,
): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const wanted = new Map(topics.map((t) => [t.topic, t.numPartitions ?? 1]));
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const { topics: md } = await admin.fetchTopicMetadata({ topics: names });
      const pending = names.filter((n) => {
        const t = md.find((x) => x.name === n);
        return (
          !t || t.partitions.length < Math.max(1, wanted.get(n)!) || t.partitions.some((p) => p.leader < 0)
        );
      });
      if (pending.length === 0) {
        for (const n of names) await admin.fetchTopicOffsets(n);
        return;
      }
      last = `no leader yet for ${pending.join(", ")}`;
    } catch (err) {
      if (!SETTLING.has(settlingType(err) ?? "")) throw err;
      last = (err as { message?: string }).message ?? String(err);
    }
    if (Date.now() > deadline) throw topicsNotReady(names, timeoutMs, last);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The broker's error type of a metadata or offsets answer, as kafkajs throws it (itself or as `cause`). */
function settlingType(err: unknown): string | undefined {
  const e = err as { type?: string; cause?: { type?: string } };
  return e.type ?? e.cause?.type;
}

/** Standard topics of this deployment with the configured partition counts. */
export function standardTopics(config: Config["kafka"]): TopicConfig[] {
  const base = { numPartitions: config.topicPartitions, replicationFactor: config.topicReplicationFactor };
  return [
    { topic: config.topicTransfers, ...base },
    { topic: config.topicFindings, ...base },
    { topic: config.topicDlq, ...base },
  ];
}

/** DescribeConfigs resource type of a topic (Kafka's ConfigResource.Type.TOPIC). */
const TOPIC_RESOURCE = 2;

/**
 * The effective `max.message.bytes` of each topic (the topic's override, else the broker's
 * `message.max.bytes`), read with DescribeConfigs. A record batch larger than this is refused
 * with MESSAGE_TOO_LARGE; knowing the limit lets a writer make every record fit before it
 * produces, instead of discovering the refusal by failing the transaction.
 */
export async function readMaxMessageBytes(
  admin: Pick<Admin, "describeConfigs">,
  topics: string[],
): Promise<Map<string, number>> {
  const unique = [...new Set(topics)];
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: unique.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: ["max.message.bytes"] })),
  });
  const out = new Map<string, number>();
  for (const r of res.resources) {
    const entry = r.configEntries.find((e) => e.configName === "max.message.bytes");
    const n = Number(entry?.configValue);
    if (Number.isSafeInteger(n) && n > 0) out.set(r.resourceName, n);
  }
  for (const t of unique)
    if (!out.has(t)) throw new Error(`Topic ${t}: DescribeConfigs returned no max.message.bytes`);
  return out;
}
