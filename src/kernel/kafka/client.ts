import "./patches.js";
import { connect, isIP } from "node:net";
import * as tls from "node:tls";
import {
  Kafka as KafkaJS,
  logLevel as KafkaLogLevel,
  type Consumer as KafkaJSConsumer,
  type ISocketFactory,
  type KafkaConfig,
  type RetryOptions,
  type SASLOptions,
} from "kafkajs";
import type { Config } from "../config/index.js";
import type { Logger } from "../logger.js";
import type { Codec } from "./compression.js";
import { createKafkaLog } from "./log.js";
import type { Admin, Consumer, ConsumerEvents, ConsumerOptions, Kafka } from "./types.js";

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

const CLIENT = Symbol("kafkajs client");
const FINDINGS_CODEC = Symbol("findings compression");

/** Our Kafka client; the kafkajs one it wraps is for this folder only (`kafkajsClientOf`). */
interface KafkajsBacked extends Kafka {
  readonly [CLIENT]: KafkaJS;
  readonly [FINDINGS_CODEC]: Codec;
}

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
  const client = new KafkaJS(kafkaConfig);
  const kafka: KafkajsBacked = {
    [CLIENT]: client,
    [FINDINGS_CODEC]: config.findingsCompression,
    // kafkajs's admin has exactly our calls (a superset): the compiler checks the assignment.
    admin: (): Admin => client.admin(),
    consumer: (options: ConsumerOptions): Consumer => wrapConsumer(client.consumer(options)),
  };
  return kafka;
}

/** The kafkajs client behind `kafka`, for this folder's modules that need more than our interface. */
export function kafkajsClientOf(kafka: Kafka): KafkaJS {
  const client = (kafka as Partial<KafkajsBacked>)[CLIENT];
  if (!client) throw new Error("Not a Kafka client from createKafka (src/kernel/kafka/client.ts)");
  return client;
}

/** The codec of the findings and DLQ batches written through `kafka` (ATT_FINDINGS_COMPRESSION). */
export function findingsCompressionOf(kafka: Kafka): Codec {
  return (kafka as Partial<KafkajsBacked>)[FINDINGS_CODEC] ?? "none";
}

/** kafkajs's consumer with its instrumentation events under our names and payloads. */
function wrapConsumer(c: KafkaJSConsumer): Consumer {
  const listeners: { [E in keyof ConsumerEvents]: (l: (p: ConsumerEvents[E]) => void) => void } = {
    "group-join": (l) =>
      c.on(c.events.GROUP_JOIN, (e) => l({ memberAssignment: e.payload.memberAssignment })),
    crash: (l) => c.on(c.events.CRASH, (e) => l({ error: e.payload.error, restart: e.payload.restart })),
    "batch-end": (l) =>
      c.on(c.events.END_BATCH_PROCESS, (e) =>
        l({ topic: e.payload.topic, partition: e.payload.partition, lastOffset: e.payload.lastOffset }),
      ),
  };
  return {
    connect: () => c.connect(),
    disconnect: () => c.disconnect(),
    subscribe: (args) => c.subscribe(args),
    run: (options) => c.run(options),
    stop: () => c.stop(),
    pause: (topics) => c.pause(topics),
    seek: (position) => c.seek(position),
    on: (event, listener) => listeners[event](listener),
  };
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
