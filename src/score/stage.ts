import type { Registry } from "prom-client";
import { createEnricher } from "../enrich/index.js";
import { throwIfProblems, type Config } from "../kernel/config/index.js";
import { groupTimingProblems } from "../kernel/config/score.js";
import { createKafka, ensureTopics, standardTopics } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import { checkRedisPolicy, createRedis } from "../kernel/redis.js";
import { createShutdown, type Shutdown } from "../kernel/shutdown.js";
import { createDriftMonitorFromConfig } from "../monitor/drift.js";
import { loadConfiguredModel, type Model } from "../model/index.js";
import { createScoreConsumer } from "./consumer.js";
import { createScoreMetrics, registerLagGauge } from "./metrics.js";
import { createBatchProcessor } from "./processor.js";
import { readMaxMessageBytes } from "../kernel/kafka/index.js";
import { recordLimits, type RecordLimits } from "../sink/limits.js";
import { allFindingTopics } from "../sink/router.js";
import { featurePort, modelPort } from "./wiring.js";
import { labelTopicConfig } from "../kernel/config/labels.js";
import { openLiveAllowlist } from "./allowlist.js";

export interface ScoreStage {
  readonly model: Model;
  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /**
   * Finishes and commits the batch in flight, leaves the group, closes everything: closes the
   * shutdown registry the stage's teardowns are in (its own, or the one passed in). Idempotent.
   */
  stop(): Promise<void>;
  isReady(): boolean;
}

/**
 * The score stage as a component: model, enrichment, consumer group and transactional sink,
 * wired from the configuration. `att score` runs one; tests and the demo run them in-process.
 * Each teardown is registered in `shutdown` where its resource is opened, so a start-up that
 * fails half-way (a topic that cannot be created, a broker that does not answer) leaves
 * nothing open once that registry is closed.
 */
export async function createScoreStage(deps: {
  config: Config;
  logger: Logger;
  registry: Registry;
  model?: Model;
  /**
   * The registry the stage registers its teardowns in (`att score`: the process's); the caller
   * closes it, also when start-up fails. Unset: the stage owns one, closed by `stop()` or by a
   * failed start-up.
   */
  shutdown?: Shutdown;
  /** The consumer stopped for good (kafkajs gave up on it): the process should exit and be restarted. */
  onFatal?: (err: unknown) => void;
}): Promise<ScoreStage> {
  const owned = deps.shutdown
    ? undefined
    : createShutdown({ logger: deps.logger, graceMs: deps.config.common.shutdownGraceMs });
  try {
    return await openScoreStage({ ...deps, shutdown: deps.shutdown ?? owned! });
  } catch (err) {
    await owned?.close("score stage failed to start");
    throw err;
  }
}

async function openScoreStage(
  deps: Parameters<typeof createScoreStage>[0] & { shutdown: Shutdown },
): Promise<ScoreStage> {
  const { config, logger, registry, shutdown } = deps;
  // Before anything is opened: timings the group could not work with stop start-up.
  throwIfProblems(groupTimingProblems(config.score));
  const model = deps.model ?? (await loadConfiguredModel(config.model));
  if (!deps.model) shutdown.register("model", () => model.close());
  logger.info({
    msg: "Model loaded",
    model_version: model.version,
    features: model.featureCount,
    threshold: model.threshold,
    dir: model.dir,
  });

  const redis = createRedis(config.redis.url, { logger, name: "att-score" });
  // QUIT waits for a connection; one that is down (or never came up) is just dropped.
  shutdown.register("redis", async () => {
    if (redis.status === "ready") await redis.quit();
    else redis.disconnect();
  });
  const policyProblem = await checkRedisPolicy(redis).catch(() => undefined);
  if (policyProblem) logger.warn({ msg: "Redis is not set up for BullMQ", problem: policyProblem });

  const enricher = createEnricher({ redis, queuePrefix: config.redis.keyPrefix, config, logger, registry });
  shutdown.register("enricher", () => enricher.close());

  const kafka = createKafka(config.kafka, { logger, stage: "score" });
  const routing = {
    findingsTopic: config.kafka.topicFindings,
    normalFindings: config.score.normalFindings,
    normalTopic: config.score.normalTopic,
    alertsTopic: config.score.alertsTopic,
  };
  const extraTopics = [routing.normalTopic, routing.alertsTopic].filter((t): t is string => !!t);
  await ensureTopics(kafka, [
    ...standardTopics(config.kafka),
    ...extraTopics.map((topic) => ({
      topic,
      numPartitions: config.kafka.topicPartitions,
      replicationFactor: config.kafka.topicReplicationFactor,
    })),
    labelTopicConfig(config.labels.allowlistTopic, config.kafka),
  ]);

  // Every record written must fit its topic's max.message.bytes, or the partition behind it stops.
  const limits = await readOutputLimits(kafka, [...allFindingTopics(routing), config.kafka.topicDlq]);
  logger.info({
    msg: "Output record limits",
    max_message_bytes: Object.fromEntries(limits.bytes),
  });

  // Read to its end before the first batch is scored; followed while the stage runs (issue 16).
  const allowlist = await openLiveAllowlist(kafka, {
    topic: config.labels.allowlistTopic,
    logger,
    startupTimeoutMs: config.labels.allowlistStartupTimeoutMs,
    ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
  });
  shutdown.register("allowlist", () => allowlist.close());

  const metrics = createScoreMetrics(registry, { threshold: model.threshold });
  const drift = createDriftMonitorFromConfig(config, {
    card: model.card,
    registry,
    logger,
    threshold: model.threshold,
    chainId: config.chain.chainId,
    scope: config.score.groupId,
  });
  const processBatch = createBatchProcessor({
    drift,
    features: featurePort(enricher, model),
    model: modelPort(model),
    config: {
      routing,
      dlqTopic: config.kafka.topicDlq,
      enrichDeadlineMs: config.score.enrichDeadlineMs,
      explainTopK: config.score.explainTopK,
      explainNormal: config.score.explainNormal,
      chainId: config.chain.chainId,
      maxInputBytes: config.score.maxMessageBytes,
      limits: limits.limits,
      allowlist,
    },
  });
  // No abort signal into the batch: a stop lets the batch in flight finish and commit
  // (bounded by ATT_SCORE_ENRICH_DEADLINE_MS), then the consumer leaves the group.
  const consumer = createScoreConsumer({
    kafka,
    logger,
    metrics,
    process: processBatch,
    topic: config.kafka.topicTransfers,
    groupId: config.score.groupId,
    transactionalIdPrefix: config.score.transactionalIdPrefix,
    batchMaxSize: config.score.batchMaxSize,
    poisonAttempts: config.score.poisonAttempts,
    dlqTopic: config.kafka.topicDlq,
    partitionsConcurrently: config.score.partitionsConcurrently,
    maxBytesPerPartition: config.score.maxBytesPerPartition,
    maxBytes: config.score.maxBytes,
    sessionTimeoutMs: config.score.sessionTimeoutMs,
    heartbeatIntervalMs: config.score.heartbeatIntervalMs,
    rebalanceTimeoutMs: config.score.rebalanceTimeoutMs,
    fromBeginning: config.score.fromBeginning,
    ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
    limits: limits.limits,
    probes: [{ name: "redis", check: () => redis.ping().then(() => undefined) }],
  });
  // Registered last, so it runs first: the batch in flight commits before Redis and the enricher go.
  shutdown.register("score-consumer", () => consumer.stop());
  registerLagGauge(registry, {
    admin: consumer.admin,
    groupId: config.score.groupId,
    topic: config.kafka.topicTransfers,
  });

  return {
    model,
    start: () => consumer.start(),
    isReady: () => consumer.isReady(),
    stop: () => shutdown.close("score stage stopped"),
  };
}

/** The output topics' max.message.bytes, read once at start-up with a short-lived admin client. */
async function readOutputLimits(
  kafka: ReturnType<typeof createKafka>,
  topics: string[],
): Promise<{ bytes: Map<string, number>; limits: RecordLimits }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const bytes = await readMaxMessageBytes(admin, topics);
    return { bytes, limits: recordLimits(bytes) };
  } finally {
    await admin.disconnect();
  }
}
