/**
 * Test harness for the ingest stage: an in-process ingester on a private anvil with unique
 * topics and Redis prefix, a read-to-the-end committed reader, and a polling wait.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { onTestFailed, onTestFinished } from "vitest";
import { parseTokenTransferTx, type TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import type { Kafka } from "../src/kernel/kafka/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { decodeCheckpoint, readCheckpoint, type Checkpoint } from "../src/ingest/checkpoint.js";
import { createIngester, type Ingester } from "../src/ingest/ingester.js";
import type { IngesterOptions } from "../src/ingest/options.js";
import { ensureIngestTopics } from "../src/ingest/topics.js";
import type { TestAnvil } from "./helpers/anvil.js";
import { testClient, testKafka } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { REDIS_URL } from "./helpers/services.js";

export const kafka: Kafka = testClient;

export interface TestTopics {
  transfers: string;
  checkpoint: string;
  redisPrefix: string;
  transactionalId: string;
}

/** Unique topics (created, deleted after the test), Redis prefix (keys deleted) and transactional id. */
export async function ingestTopics(): Promise<TestTopics> {
  const t: TestTopics = {
    transfers: uniqueName("ingest-tx"),
    checkpoint: uniqueName("ingest-cp"),
    redisPrefix: uniqueName("atttest-ingest"),
    transactionalId: uniqueName("ingest-txid"),
  };
  await ensureIngestTopics(
    kafka,
    { topicTransfers: t.transfers, topicCheckpoint: t.checkpoint },
    {
      topicPartitions: 3,
      topicReplicationFactor: 1,
    },
  );
  onTestFinished(async () => {
    const admin = testKafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t.transfers, t.checkpoint], timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${t.redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return t;
}

export function ingestOptions(
  anvil: TestAnvil,
  t: TestTopics,
  over: Partial<IngesterOptions> = {},
): IngesterOptions {
  return {
    chainId: 31337,
    rpcHttpUrl: anvil.httpUrl,
    rpcWsUrl: anvil.wsUrl,
    rpcTimeoutMs: 5_000,
    confirmations: 0,
    fromBlock: undefined,
    topicTransfers: t.transfers,
    topicCheckpoint: t.checkpoint,
    transactionalId: t.transactionalId,
    redisPrefix: t.redisPrefix,
    fetchConcurrency: 4,
    maxBlocksInFlight: 16,
    receiptConcurrency: 4,
    maxBlocksPerTransaction: 20,
    pollIntervalMs: 200,
    headRecheckMs: 2_000,
    wsHeartbeatMs: 500,
    reconnectBaseMs: 50,
    reconnectMaxMs: 500,
    rpcRetries: 2,
    retryMaxMs: 1_000,
    recentBlocks: 128,
    leaseTtlMs: 3_000,
    leasePollMs: 100,
    journalTtlMs: 600_000,
    progressIntervalMs: 1_000,
    ...over,
  };
}

export interface RunningIngester {
  ingester: Ingester;
  registry: Registry;
  logs: Record<string, unknown>[];
  /** Stops it cleanly and waits; rethrows a fatal error. */
  stop(): Promise<void>;
  done: Promise<void>;
}

/** Starts an in-process ingester; it is stopped when the test ends. */
export function startIngester(options: IngesterOptions): RunningIngester {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: process.env.ATT_TEST_LOG_LEVEL ?? "info", destination: sink });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const registry = new Registry();
  const ingester = createIngester({ options, kafka, redis, logger, registry });
  const controller = new AbortController();
  const done = ingester.run(controller.signal);
  done.catch(() => undefined);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      controller.abort(new Error("test finished"));
      try {
        await done;
      } finally {
        redis.disconnect();
      }
    })());
  onTestFinished(() => stop().catch(() => undefined));
  onTestFailed(() => {
    console.error(`ingester logs (last 60 of ${logs.length}):`);
    for (const l of logs.slice(-60)) console.error(JSON.stringify(l));
  });
  return { ingester, registry, logs, stop, done };
}

/** Polls `cond` until it holds (or fails with `what` after `timeoutMs`). */
export async function waitFor<T>(
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { metricValue } from "./helpers/metrics.js";

export function checkpointOf(t: TestTopics): Promise<Checkpoint | undefined> {
  return readCheckpoint(kafka, {
    topic: t.checkpoint,
    chainId: 31337,
    timeoutMs: 20_000,
    logger: createLogger({ level: "silent" }),
  });
}

/** Waits until the committed checkpoint reaches `block`. */
export function waitForCheckpoint(t: TestTopics, block: number, timeoutMs = 60_000): Promise<Checkpoint> {
  return waitFor(
    async () => {
      // Right after topic creation the broker may still answer "not the leader": ask again.
      const cp = await checkpointOf(t).catch(() => undefined);
      return cp && cp.blockNumber >= block ? cp : undefined;
    },
    `checkpoint at block ${block}`,
    timeoutMs,
  );
}

export interface ReadMessage {
  key: string | null;
  tx: TokenTransferTx;
  partition: number;
}

/** Every committed message of `topic`, from the beginning to its current end (read_committed). */
export async function readAllCommitted(topic: string): Promise<ReadMessage[]> {
  return (await readCommittedRecords(topic)).map((r) => ({
    key: r.key,
    tx: parseTokenTransferTx(r.value),
    partition: r.partition,
  }));
}

/** Every committed checkpoint record of this test's chain, oldest first (the topic is not compacted yet). */
export async function checkpointHistory(t: TestTopics): Promise<Checkpoint[]> {
  return (await readCommittedRecords(t.checkpoint))
    .filter((r) => r.key === "31337" && r.value !== null)
    .map((r) => decodeCheckpoint(r.value!.toString()));
}

interface RawRecord {
  key: string | null;
  value: Buffer | null;
  partition: number;
}

async function readCommittedRecords(topic: string): Promise<RawRecord[]> {
  const admin = testKafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const ends = new Map(
    offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high) - 1n]),
  );
  const out: RawRecord[] = [];
  if (ends.size === 0) return out;
  const consumer = testKafka.consumer({
    groupId: uniqueName("g-ingest"),
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`readAllCommitted(${topic}) did not reach the end`)),
        30_000,
      );
      const mark = (p: number, offset: string) => {
        const end = ends.get(p);
        if (end !== undefined && BigInt(offset) >= end) ends.delete(p);
        if (ends.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.lastOffset !== null) mark(payload.partition, payload.lastOffset);
      });
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          out.push({ key: message.key?.toString() ?? null, value: message.value, partition });
          mark(partition, message.offset);
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A TCP proxy in front of a port that a test can cut (drop every connection) or make refuse. */
export interface TcpProxy {
  port: number;
  /** Destroys every open connection (both sides see the socket die). */
  cut(): void;
  /** While true, new connections are closed at once. */
  refuse(on: boolean): void;
  /** Open connections stay open but no byte passes any more (a silently dead peer). */
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    pairs.push([client, upstream]);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: TcpProxy = {
    port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: (on) => {
      refusing = on;
    },
    freeze: () => {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  };
  onTestFinished(() => proxy.close());
  return proxy;
}

export interface ChildIngester {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  /** Resolves when a log line with this message appears (counting from `after` lines). */
  waitForLog(msg: string, opts?: { after?: number; timeoutMs?: number }): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `att ingest [args]` as a child process (the real CLI), env from the options; killed when the test ends. */
export function spawnIngester(env: Record<string, string>, args: string[] = []): ChildIngester {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "ingest", ...args], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, ATT_METRICS_PORT: "0", ATT_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  onTestFinished(() => kill());
  onTestFailed(() => {
    console.error(
      `child ingester ${child.pid} logs (last 40 of ${logs.length}); stderr: ${stderr.slice(-2000)}`,
    );
    for (const l of logs.slice(-40)) console.error(JSON.stringify(l));
  });
  return {
    child,
    logs,
    kill,
    waitForLog: (msg, opts = {}) =>
      waitFor(
        () => {
          if (child.exitCode !== null)
            throw new Error(`ingester exited (${child.exitCode}): ${stderr.slice(-500)}`);
          return logs.slice(opts.after ?? 0).find((l) => l.msg === msg);
        },
        `log "${msg}"`,
        opts.timeoutMs ?? 60_000,
      ),
  };
}

/** Environment for a child `att ingest` on this test's anvil/topics. */
export function childEnv(
  anvil: TestAnvil,
  t: TestTopics,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ATT_CHAIN_ID: "31337",
    ATT_RPC_HTTP_URL: anvil.httpUrl,
    ATT_RPC_WS_URL: anvil.wsUrl,
    ATT_RPC_TIMEOUT_MS: "3000",
    ATT_TOPIC_TRANSFERS: t.transfers,
    ATT_INGEST_CHECKPOINT_TOPIC: t.checkpoint,
    ATT_INGEST_TRANSACTIONAL_ID: t.transactionalId,
    ATT_REDIS_PREFIX: t.redisPrefix,
    ATT_INGEST_CONFIRMATIONS: "0",
    ATT_INGEST_POLL_INTERVAL_MS: "200",
    ATT_INGEST_HEAD_RECHECK_MS: "2000",
    ATT_INGEST_WS_HEARTBEAT_MS: "500",
    ATT_INGEST_RECONNECT_BASE_MS: "100",
    ATT_INGEST_RECONNECT_MAX_MS: "1000",
    ATT_INGEST_LEASE_TTL_MS: "2000",
    ATT_INGEST_LEASE_POLL_MS: "200",
    ATT_KAFKA_BROKERS: process.env.ATT_KAFKA_BROKERS ?? "127.0.0.1:9092",
    ATT_REDIS_URL: REDIS_URL,
    ...extra,
  };
}
