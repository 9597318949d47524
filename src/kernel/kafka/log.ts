import "./patches.js";
import { logLevel as KafkaLogLevel, type LogEntry } from "kafkajs";
import type { Logger } from "../logger.js";
import { logTextKind } from "./errors.js";

/**
 * kafkajs warnings that are expected with our settings: transactions bound retries by their
 * timeout and abort on failure (so limited retries cannot break exactly-once), and every
 * producer keys its messages explicitly (the partitioner change does not affect us).
 */
const EXPECTED_WARNINGS = [/Limiting retries for the idempotent producer/, /switched default partitioner/];

/** A connection error this soon after its broker answered elsewhere is a stale socket, not an outage. */
const STALE_SOCKET_MS = 2000;

export interface KafkaLog {
  /** kafkajs's logCreator callback: one entry at WARN level or above. */
  entry(entry: LogEntry): void;
  /** A broker (`host:port`) sent data: ends a connection outage that involved it. */
  answered(broker: string): void;
}

/**
 * Routes one kafkajs client's log entries to our logger. What kafkajs retries (errors.ts
 * `logTextKind`: a lost connection or a transient broker answer) goes to debug: a broker restart
 * would otherwise print dozens of ERROR lines that need no action. Instead each outage is
 * summarised by two lines, `warn "Kafka connection lost; retrying"` at the first connection
 * error and `info "Kafka connection restored"` (with `outage_seconds` and `retried_errors`) once
 * a broker that had failed answers again. A topic that does not exist (UNKNOWN_TOPIC_OR_PARTITION),
 * an authorization or a size refusal is not retried: those keep their level, someone must act.
 */
export function createKafkaLog(
  logger: Logger,
  opts: { clientId?: string; now?: () => number } = {},
): KafkaLog {
  const now = opts.now ?? Date.now;
  const client = opts.clientId ? { client_id: opts.clientId } : {};
  let outage: { since: number; retried: number; brokers: Set<string> } | undefined;
  // When each broker last sent data. A connection error within STALE_SOCKET_MS of the broker
  // answering on another connection is a socket left over from an outage (or a broker finishing
  // its start-up), not a new outage: it is retried at debug like the rest. If the broker is
  // really gone again, the errors go on without answers and the next one opens the outage.
  const lastAnswer = new Map<string, number>();
  let lastAnyAnswer = Number.NEGATIVE_INFINITY;
  const answeredJustNow = (broker: string | undefined) =>
    now() - (broker === undefined ? lastAnyAnswer : (lastAnswer.get(broker) ?? Number.NEGATIVE_INFINITY)) <
    STALE_SOCKET_MS;
  return {
    entry({ level, log }) {
      const { message, timestamp: _t, logger: _l, ...rest } = log as Record<string, unknown>;
      const text = `${String(message)} ${String(rest.error ?? "")}`;
      if (level === KafkaLogLevel.WARN && EXPECTED_WARNINGS.some((re) => re.test(text))) return;
      const fields = { msg: `kafkajs: ${String(message)}`, ...rest };
      const broker = typeof rest.broker === "string" ? rest.broker : undefined;
      const kind = level <= KafkaLogLevel.WARN ? logTextKind(text) : undefined;
      const lost = kind === "connection";
      // A refused connect means nothing listens there: never a stale socket.
      const stale = lost && !/connect ECONNREFUSED/.test(text) && answeredJustNow(broker);
      if (lost && !outage && !stale) {
        outage = { since: now(), retried: 0, brokers: new Set() };
        logger.warn({ msg: "Kafka connection lost; retrying", ...client, broker, error: String(message) });
      }
      if (lost && broker && outage) outage.brokers.add(broker);
      const retried =
        kind !== undefined ||
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
      const t = now();
      lastAnswer.set(broker, t);
      lastAnyAnswer = t;
      if (!outage || (outage.brokers.size > 0 && !outage.brokers.has(broker))) return;
      logger.info({
        msg: "Kafka connection restored",
        ...client,
        broker,
        outage_seconds: Math.round((t - outage.since) / 100) / 10,
        retried_errors: outage.retried,
      });
      outage = undefined;
    },
  };
}
