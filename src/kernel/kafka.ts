import "./kafkajs-fix.js";
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type ITopicConfig,
  type KafkaConfig,
  type LogEntry,
  type SASLOptions,
} from "kafkajs";
import type { Config } from "./config/index.js";
import type { Logger } from "./logger.js";

/**
 * Thin adapter around kafkajs (unmaintained since 2023, see PITFALLS): the rest of the code
 * imports Kafka only from here, so the client could be swapped.
 */
export type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer, Transaction } from "kafkajs";

export function createKafka(config: Config["kafka"], opts: { logger: Logger; stage: string }): Kafka {
  const sasl: SASLOptions | undefined = config.saslMechanism
    ? ({
        mechanism: config.saslMechanism,
        username: config.saslUsername ?? "",
        password: config.saslPassword ?? "",
      } as SASLOptions)
    : undefined;
  const kafkaConfig: KafkaConfig = {
    clientId: `${config.clientId}-${opts.stage}`,
    brokers: config.brokers,
    ssl: config.ssl,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafka(opts.logger, entry),
    retry: { initialRetryTime: 200, retries: 8 },
    ...(sasl ? { sasl } : {}),
  };
  return new Kafka(kafkaConfig);
}

/**
 * kafkajs warnings that are expected with our settings: transactions bound retries by their
 * timeout and abort on failure (so limited retries cannot break exactly-once), and every
 * producer keys its messages explicitly (the partitioner change does not affect us).
 */
const EXPECTED_WARNINGS = [/Limiting retries for the idempotent producer/, /switched default partitioner/];

/**
 * kafkajs logs at ERROR level what it then retries: CONCURRENT_TRANSACTIONS, which the broker
 * answers to AddPartitionsToTxn while it still writes the previous transaction's markers (every
 * time a partition's batch follows its predecessor quickly; src/score/stage/transactional-sink.ts
 * retries after 20 ms). Logged at debug: a failure that outlasts the retries surfaces as the
 * batch's own error.
 */
const RETRIED_ERRORS = /concurrent operation on the same transaction/;

export function logKafka(logger: Logger, { level, log }: LogEntry): void {
  const { message, timestamp: _t, logger: _l, ...rest } = log as Record<string, unknown>;
  if (level === KafkaLogLevel.WARN && EXPECTED_WARNINGS.some((re) => re.test(String(message)))) return;
  const fields = { msg: `kafkajs: ${String(message)}`, ...rest };
  if (
    level === KafkaLogLevel.ERROR &&
    (RETRIED_ERRORS.test(`${String(message)} ${String(rest.error ?? "")}`) ||
      // The score stage logged this batch failure itself (with the cause) before throwing it.
      (String(message) === "Error when calling eachBatch" &&
        String(rest.stack ?? "").startsWith("BatchFailedError")))
  )
    logger.debug(fields);
  else if (level === KafkaLogLevel.ERROR) logger.error(fields);
  else if (level === KafkaLogLevel.WARN) logger.warn(fields);
  else if (level === KafkaLogLevel.INFO) logger.info(fields);
  else logger.debug(fields);
}

/** Creates the topics that are missing; existing topics are left alone. */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
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
 * ListOffsets, which the leader serves through the same check as a produce.
 */
export async function createTopicsReady(
  admin: Admin,
  topics: ITopicConfig[],
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
      const e = err as { type?: string; cause?: { type?: string }; message?: string };
      if (!SETTLING.has(e.type ?? e.cause?.type ?? "")) throw err;
      last = e.message ?? String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`Topics ${names.join(", ")} not ready within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Standard topics of this deployment with the configured partition counts. */
export function standardTopics(config: Config["kafka"]): ITopicConfig[] {
  const base = { numPartitions: config.topicPartitions, replicationFactor: config.topicReplicationFactor };
  return [
    { topic: config.topicTransfers, ...base },
    { topic: config.topicFindings, ...base },
    { topic: config.topicDlq, ...base },
  ];
}

/** The part of kafkajs' internal Cluster (kafkajs 2.2.4) that the functions below use. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  findGroupCoordinator(opts: { groupId: string }): Promise<{
    offsetCommit(request: {
      groupId: string;
      groupGenerationId: number;
      memberId: string;
      topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
    }): Promise<unknown>;
  }>;
}

const READ_UNCOMMITTED = 0;

/**
 * A kafkajs Cluster built the way `kafka.consumer()` builds one, with the client's own brokers,
 * TLS and SASL settings, for the few requests kafkajs has no public call for. Connected;
 * the caller disconnects it.
 */
async function internalCluster(
  kafka: Kafka,
  opts: { isolationLevel?: number } = {},
): Promise<InternalCluster> {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const createCluster = symbol
    ? (kafka as unknown as Record<symbol, (o: object) => InternalCluster>)[symbol]
    : undefined;
  if (typeof createCluster !== "function") {
    throw new Error("kafkajs has no private:Kafka:createCluster: this client needs kafkajs 2.2.x");
  }
  const cluster = createCluster({ allowAutoTopicCreation: false, ...opts });
  await cluster.connect();
  return cluster;
}

/**
 * The high watermark of every partition of `topic` (the offset after the last record written,
 * committed or not). kafkajs' admin lists offsets with READ_COMMITTED only, which gives the last
 * stable offset: it stops at the first record of a transaction still open. The difference is
 * what a reader that must see everything written so far has to wait for.
 */
export async function fetchHighWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const cluster = await internalCluster(kafka, { isolationLevel: READ_UNCOMMITTED });
  try {
    await cluster.addTargetTopic(topic);
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const [offsets] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await cluster.disconnect();
  }
}

/**
 * Commits offsets for a consumer group that has no members, as the Java AdminClient's
 * alterConsumerGroupOffsets does: one OffsetCommit to the group coordinator with generation -1
 * and no member id. The broker refuses it (UNKNOWN_MEMBER_ID) if a member has joined meanwhile,
 * so it can never move a running group. kafkajs' admin.setOffsets instead joins the group as a
 * member and waits for a fetch (5 s with a paused topic).
 */
export async function commitGroupOffsets(
  kafka: Kafka,
  opts: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] },
): Promise<void> {
  const cluster = await internalCluster(kafka);
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId: opts.groupId });
    await coordinator.offsetCommit({
      groupId: opts.groupId,
      groupGenerationId: -1,
      memberId: "",
      topics: [{ topic: opts.topic, partitions: opts.partitions }],
    });
  } finally {
    await cluster.disconnect();
  }
}
