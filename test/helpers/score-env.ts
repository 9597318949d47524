import { KAFKA_BROKERS, REDIS_URL } from "./services.js";

/**
 * The environment of an `att score` under test: the local stack, the test's own topics, group
 * (also the transactional-id prefix, so tests never fence each other) and Redis prefix.
 */
export function scoreEnv(args: {
  transfers: string;
  findings: string;
  dlq: string;
  group: string;
  prefix: string;
  extra?: Record<string, string>;
}): Record<string, string> {
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
