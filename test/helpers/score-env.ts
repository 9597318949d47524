import { createTestTopic } from "./kafka.js";
import { uniqueName } from "./names.js";
import { testPrefix } from "./redis.js";
import { KAFKA_BROKERS, REDIS_URL } from "./services.js";

/** Where one score-stage test works: its own topics, consumer group and Redis prefix. */
export interface ScoreTopics {
  transfers: string;
  findings: string;
  dlq: string;
  group: string;
  prefix: string;
}

/**
 * Creates the test's transfers, findings and DLQ (one partition) topics, deleted when the test
 * ends, and names its group and Redis prefix; `tag` makes them recognisable in broker logs.
 * Call inside a test.
 */
export async function createScoreTopics(
  tag: string,
  partitions: { transfers: number; findings: number },
): Promise<ScoreTopics> {
  return {
    transfers: await createTestTopic(`${tag}-transfers`, partitions.transfers),
    findings: await createTestTopic(`${tag}-findings`, partitions.findings),
    dlq: await createTestTopic(`${tag}-dlq`, 1),
    group: uniqueName(tag),
    prefix: testPrefix(tag),
  };
}

/**
 * The environment of an `att score` under test: the local stack, the test's own topics, group
 * (also the transactional-id prefix, so tests never fence each other) and Redis prefix.
 */
export function scoreEnv(args: ScoreTopics & { extra?: Record<string, string> }): Record<string, string> {
  return {
    ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    ATT_REDIS_URL: REDIS_URL,
    ATT_REDIS_PREFIX: args.prefix,
    ATT_TOPIC_TRANSFERS: args.transfers,
    ATT_TOPIC_FINDINGS: args.findings,
    ATT_TOPIC_DLQ: args.dlq,
    ATT_SCORE_GROUP_ID: args.group,
    ATT_SCORE_TRANSACTIONAL_ID_PREFIX: args.group,
    ATT_METRICS_PORT: "0",
    ...args.extra,
  };
}
