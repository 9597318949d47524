import { AttError, type AttErrorOptions } from "../errors.js";

/**
 * Kafka failures mapped to our codes, in one place: the transactional producer, the poison
 * rules, the consumer's log levels and the kafkajs log routing all ask this module.
 *
 * - `fenced`: another producer took our transactional.id (never retried: the zombie must stop).
 * - `record-rejected`: the broker refused the records themselves (a poison message's fault).
 * - `transient`: answers the client retries or handles by rejoining (coordinators loading after a
 *   broker restart, leadership moving, a rebalance, CONCURRENT_TRANSACTIONS after a quick commit).
 * - `connection`: a broker cannot be reached; the client reconnects.
 * - `other`: anything else from the client; retryable as the client itself judged it.
 */
export type KafkaErrorKind = "fenced" | "record-rejected" | "transient" | "connection" | "other";

/**
 * Kafka protocol error types by kind, with the start of kafkajs 2.2.4's message for each
 * (src/protocol/error.js): log entries carry only the message text.
 */
const BROKER_ERRORS: Record<string, { kind: KafkaErrorKind; text?: string }> = {
  INVALID_PRODUCER_EPOCH: { kind: "fenced" },
  PRODUCER_FENCED: { kind: "fenced" },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { kind: "fenced" },
  MESSAGE_TOO_LARGE: { kind: "record-rejected" },
  RECORD_LIST_TOO_LARGE: { kind: "record-rejected" },
  INVALID_RECORD: { kind: "record-rejected" },
  CORRUPT_MESSAGE: { kind: "record-rejected" },
  UNSUPPORTED_COMPRESSION_TYPE: { kind: "record-rejected" },
  CONCURRENT_TRANSACTIONS: { kind: "transient", text: "concurrent operation on the same transaction" },
  COORDINATOR_LOAD_IN_PROGRESS: { kind: "transient", text: "coordinator is loading" },
  COORDINATOR_NOT_AVAILABLE: { kind: "transient", text: "coordinator is not available" },
  NOT_COORDINATOR: { kind: "transient", text: "not the correct coordinator" },
  LEADER_NOT_AVAILABLE: { kind: "transient", text: "no leader for this topic-partition" },
  NOT_LEADER_FOR_PARTITION: { kind: "transient", text: "not the leader for that topic-partition" },
  REQUEST_TIMED_OUT: { kind: "transient", text: "The request timed out" },
  NETWORK_EXCEPTION: { kind: "transient", text: "server disconnected before a response was received" },
  REBALANCE_IN_PROGRESS: { kind: "transient", text: "The group is rebalancing" },
  UNKNOWN_MEMBER_ID: { kind: "transient", text: "coordinator is not aware of this member" },
};

/** kafkajs's errors for a broker that went away (it reconnects and retries). */
const CONNECTION_ERROR_NAMES = new Set(["KafkaJSConnectionError", "KafkaJSConnectionClosedError"]);

/**
 * The same, as log text: kafkajs 2.2.4's KafkaJSConnectionError, KafkaJSConnectionClosedError
 * and KafkaJSRequestTimeoutError messages, alone or inside "Failed to connect to seed broker…" and
 * "Crash: …". Not an authentication failure: SASL errors have messages of their own.
 */
const CONNECTION_LOST_TEXT =
  /Connection error|Connection timeout|Connection closed by the server|Closed connection|Failed to connect: |Not connected|No brokers in the broker pool|No broker available|Request .+ timed out/;

const TRANSIENT_TEXT = new RegExp(
  [
    ...Object.values(BROKER_ERRORS).flatMap((e) => (e.kind === "transient" && e.text ? [e.text] : [])),
    // Logged only when kafkajs does restart the consumer (after a retriable crash).
    "^Restarting the consumer in",
  ].join("|"),
);

export interface KafkaErrorInfo {
  kind: KafkaErrorKind;
  /** The broker's error type (e.g. MESSAGE_TOO_LARGE), when the broker answered with one. */
  type?: string;
  /** `ATT_KAFKA_<type>`, `ATT_KAFKA_CONNECTION` or `ATT_KAFKA_ERROR`. */
  code: string;
  retryable: boolean;
}

interface ErrorShape {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

/** Every error inside `err`: kafkajs nests the broker's in `cause`, `originalError` or an aggregate's `errors`. */
function nested(err: unknown, depth = 0): ErrorShape[] {
  if (depth > 4 || err === null || typeof err !== "object") return [];
  const e = err as ErrorShape;
  const out = [e];
  for (const inner of [e.cause, e.originalError]) out.push(...nested(inner, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) out.push(...nested(inner, depth + 1));
  return out;
}

const isClientError = (e: ErrorShape) => typeof e.name === "string" && e.name.startsWith("KafkaJS");

/**
 * What a Kafka client error means, or undefined when `err` did not come from the client.
 * The most specific finding wins: fenced, then a refusal of the records, then a connection loss,
 * then a transient answer.
 */
export function kafkaErrorInfo(err: unknown): KafkaErrorInfo | undefined {
  if (err instanceof KafkaError) return err.info;
  const all = nested(err);
  const types = all.flatMap((e) => (typeof e.type === "string" ? [e.type] : []));
  for (const kind of ["fenced", "record-rejected"] as const) {
    const type = types.find((t) => BROKER_ERRORS[t]?.kind === kind);
    if (type) return { kind, type, code: `ATT_KAFKA_${type}`, retryable: false };
  }
  if (all.some((e) => typeof e.name === "string" && CONNECTION_ERROR_NAMES.has(e.name)))
    return { kind: "connection", code: "ATT_KAFKA_CONNECTION", retryable: true };
  const transient = types.find((t) => BROKER_ERRORS[t]?.kind === "transient");
  if (transient)
    return { kind: "transient", type: transient, code: `ATT_KAFKA_${transient}`, retryable: true };
  if (!all.some(isClientError)) return undefined;
  // As kafkajs decides whether to restart a consumer: by the innermost cause's flag.
  const innermost = all.filter((e) => e.cause === undefined).pop() ?? all[0]!;
  const type = types[0];
  return {
    kind: "other",
    ...(type ? { type } : {}),
    code: type ? `ATT_KAFKA_${type}` : "ATT_KAFKA_ERROR",
    retryable: innermost.retriable !== false,
  };
}

/**
 * A Kafka failure as one of our errors: the code and retryable flag from `kafkaErrorInfo`, the
 * client's error kept as `cause` (kafkajs walks `cause` to decide whether to restart a consumer).
 */
export class KafkaError extends AttError {
  readonly code: string;
  readonly retryable: boolean;
  readonly info: KafkaErrorInfo;
  constructor(shortMessage: string, opts: AttErrorOptions & { info: KafkaErrorInfo }) {
    super(shortMessage, opts);
    this.info = opts.info;
    this.code = opts.info.code;
    this.retryable = opts.info.retryable;
  }
  get kind(): KafkaErrorKind {
    return this.info.kind;
  }
}

/** True for an error thrown by the Kafka client itself (kafkajs's own classes, or one we mapped). */
export function isKafkaClientError(err: unknown): boolean {
  return err instanceof KafkaError || (err instanceof Error && err.name.startsWith("KafkaJS"));
}

/** Wraps a client error (anything else, e.g. our own error thrown inside a transaction, is returned as is). */
export function toKafkaError(err: unknown, shortMessage: string, details?: string[]): unknown {
  if (err instanceof AttError) return err;
  const info = kafkaErrorInfo(err) ?? { kind: "other", code: "ATT_KAFKA_ERROR", retryable: true };
  return new KafkaError(shortMessage, { cause: err, info, ...(details ? { details } : {}) });
}

/** Topics that did not get a serving leader in time: retryable (exit 75), the broker may be loading. */
export function topicsNotReady(names: string[], timeoutMs: number, last: string): KafkaError {
  return new KafkaError(`Topics ${names.join(", ")} not ready within ${timeoutMs} ms: ${last}`, {
    info: { kind: "transient", code: "ATT_KAFKA_TOPICS_NOT_READY", retryable: true },
    details: ["Fix: check that the brokers are up and not overloaded; the command can be run again."],
  });
}

/** How a kafkajs log line's text reads: a lost connection, an answer the client retries, or neither. */
export function logTextKind(text: string): "connection" | "transient" | undefined {
  if (CONNECTION_LOST_TEXT.test(text)) return "connection";
  if (TRANSIENT_TEXT.test(text)) return "transient";
  return undefined;
}
