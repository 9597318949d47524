import "./kafkajs-fix.js";
import { connect, isIP } from "node:net";
import * as tls from "node:tls";
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type ISocketFactory,
  type ITopicConfig,
  type KafkaConfig,
  type LogEntry,
  type RetryOptions,
  type SASLOptions,
} from "kafkajs";
import type { Config } from "./config/index.js";
import type { Logger } from "./logger.js";

/**
 * Thin adapter around kafkajs (unmaintained since 2023, see PITFALLS): the rest of the code
 * imports Kafka only from here, so the client could be swapped.
 */
export type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer, Transaction } from "kafkajs";

/**
 * kafkajs's retry schedule for every client (consumer, producers, admin): 200 ms, doubling, at
 * most 1 s apart, ±20 %; an operation gives up after ~50 s of failures as it did with kafkajs's
 * default 30 s cap and 8 retries. The cap is what makes recovery fast: with 30 s, a consumer
 * whose broker restarted slept up to 30 s more before trying again (measured: first commit
 * 0.6–24.7 s after the restarted broker answered; 0.2–1.3 s with this schedule). The Java client caps its reconnect and
 * retry backoffs at 1 s too (reconnect.backoff.max.ms, retry.backoff.max.ms). Every field is
 * explicit because kafkajs swaps its defaults for a 1 s cap when NODE_ENV=test, which would let
 * tests pass with a schedule production never uses.
 */
const KAFKA_RETRY = {
  initialRetryTime: 200,
  maxRetryTime: 1_000,
  multiplier: 2,
  factor: 0.2,
  retries: 50,
} as const satisfies RetryOptions;

export function createKafka(config: Config["kafka"], opts: { logger: Logger; stage: string }): Kafka {
  const sasl: SASLOptions | undefined = config.saslMechanism
    ? ({
        mechanism: config.saslMechanism,
        username: config.saslUsername ?? "",
        password: config.saslPassword ?? "",
      } as SASLOptions)
    : undefined;
  const clientId = `${config.clientId}-${opts.stage}`;
  const log = createKafkaLog(opts.logger, { clientId });
  const kafkaConfig: KafkaConfig = {
    clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => log.entry,
    socketFactory: answerReportingSockets(log.answered),
    retry: KAFKA_RETRY,
    ...(sasl ? { sasl } : {}),
  };
  return new Kafka(kafkaConfig);
}

/**
 * kafkajs's own socket factory (kafkajs 2.2.4 src/network/socketFactory.js: TLS with SNI for host
 * names, TCP keep-alive after 60 s) that also reports every chunk a broker sends: the only sign,
 * at our log level, that a broker answers again after an outage.
 */
function answerReportingSockets(answered: (broker: string) => void): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tls.connect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
      : connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    const broker = `${host}:${port}`;
    socket.on("data", () => answered(broker));
    return socket;
  };
}

/**
 * kafkajs warnings that are expected with our settings: transactions bound retries by their
 * timeout and abort on failure (so limited retries cannot break exactly-once), and every
 * producer keys its messages explicitly (the partitioner change does not affect us).
 */
const EXPECTED_WARNINGS = [/Limiting retries for the idempotent producer/, /switched default partitioner/];

/**
 * A broker cannot be reached (kafkajs 2.2.4's KafkaJSConnectionError, KafkaJSConnectionClosedError
 * and KafkaJSRequestTimeoutError messages, alone or inside "Failed to connect to seed broker…" and
 * "Crash: …"): kafkajs reconnects and retries. Not an authentication failure: SASL errors have
 * messages of their own and stay errors.
 */
const CONNECTION_LOST =
  /Connection error|Connection timeout|Connection closed by the server|Closed connection|Failed to connect: |Not connected|No brokers in the broker pool|Request .+ timed out/;

/**
 * Broker answers that kafkajs retries or handles by rejoining. CONCURRENT_TRANSACTIONS comes
 * every time a partition's batch follows its predecessor quickly (the broker still writes the
 * previous transaction's markers; src/score/stage/transactional-sink.ts retries after 20 ms); the
 * others while a restarted broker loads its group and transaction coordinators and takes its
 * partitions' leadership back. A topic that does not exist (UNKNOWN_TOPIC_OR_PARTITION), an
 * authorization or a size refusal is not among them: those need someone to act.
 */
const RETRIED_ANSWERS = new RegExp(
  [
    "concurrent operation on the same transaction",
    "coordinator is loading",
    "coordinator is not available",
    "not the correct coordinator",
    "no leader for this topic-partition",
    "not the leader for that topic-partition",
    "The request timed out",
    "server disconnected before a response was received",
    "The group is rebalancing",
    "coordinator is not aware of this member",
    // Logged only when kafkajs does restart the consumer (after a retriable crash).
    "^Restarting the consumer in",
  ].join("|"),
);

export interface KafkaLog {
  /** kafkajs's logCreator callback: one entry at WARN level or above. */
  entry(entry: LogEntry): void;
  /** A broker (`host:port`) sent data: ends a connection outage that involved it. */
  answered(broker: string): void;
}

/**
 * Routes one kafkajs client's log entries to our logger. What kafkajs retries goes to debug: a
 * broker restart would otherwise print dozens of ERROR lines that need no action. Instead each
 * outage is summarised by two lines, `warn "Kafka connection lost; retrying"` at the first
 * connection error and `info "Kafka connection restored"` (with `outage_seconds` and
 * `retried_errors`) once a broker that had failed answers again. Everything else keeps its level.
 */
export function createKafkaLog(
  logger: Logger,
  opts: { clientId?: string; now?: () => number } = {},
): KafkaLog {
  const now = opts.now ?? Date.now;
  const client = opts.clientId ? { client_id: opts.clientId } : {};
  let outage: { since: number; retried: number; brokers: Set<string> } | undefined;
  return {
    entry({ level, log }) {
      const { message, timestamp: _t, logger: _l, ...rest } = log as Record<string, unknown>;
      const text = `${String(message)} ${String(rest.error ?? "")}`;
      if (level === KafkaLogLevel.WARN && EXPECTED_WARNINGS.some((re) => re.test(text))) return;
      const fields = { msg: `kafkajs: ${String(message)}`, ...rest };
      const broker = typeof rest.broker === "string" ? rest.broker : undefined;
      const lost = level <= KafkaLogLevel.WARN && CONNECTION_LOST.test(text);
      if (lost && !outage) {
        outage = { since: now(), retried: 0, brokers: new Set() };
        logger.warn({ msg: "Kafka connection lost; retrying", ...client, broker, error: String(message) });
      }
      if (lost && broker) outage!.brokers.add(broker);
      const retried =
        lost ||
        (level <= KafkaLogLevel.WARN && RETRIED_ANSWERS.test(text)) ||
        // The score stage logged this batch failure itself (with the cause) before throwing it.
        (String(message) === "Error when calling eachBatch" &&
          String(rest.stack ?? "").startsWith("BatchFailedError"));
      if (retried) {
        if (outage) outage.retried += 1;
        logger.debug(fields);
      } else if (level === KafkaLogLevel.ERROR) logger.error(fields);
      else if (level === KafkaLogLevel.WARN) logger.warn(fields);
      else if (level === KafkaLogLevel.INFO) logger.info(fields);
      else logger.debug(fields);
    },
    answered(broker) {
      if (!outage || (outage.brokers.size > 0 && !outage.brokers.has(broker))) return;
      logger.info({
        msg: "Kafka connection restored",
        ...client,
        broker,
        outage_seconds: Math.round((now() - outage.since) / 100) / 10,
        retried_errors: outage.retried,
      });
      outage = undefined;
    },
  };
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
