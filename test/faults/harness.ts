import { appendFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, onTestFinished } from "vitest";
import { parseFinding, type Finding } from "../../src/contracts/finding.js";
import { loadConfig } from "../../src/kernel/config/index.js";
import { createTopicsReady } from "../../src/kernel/kafka/index.js";
import { createLogger } from "../../src/kernel/logger.js";
import { Registry } from "../../src/kernel/metrics.js";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { sleep } from "../../src/kernel/shutdown.js";
import { createScoreStage, type ScoreStage } from "../../src/score/stage.js";
import { startStandin } from "../fixtures/api-standin/server.js";
import { connectedAdmin, connectedProducer, createTestTopic } from "../helpers/kafka.js";
import { consoleConsume } from "../helpers/kafka-cli.js";
import { uniqueName } from "../helpers/names.js";
import { KAFKA_BROKERS } from "../helpers/services.js";
import { STANDIN_TEST_TOKENS, syntheticTxs, type toKafkaMessages } from "../helpers/transfers.js";

/**
 * The fault-injection suite's bookkeeping: what a case put in, what came out, and one line per
 * case (also appended to .local/reports/faults.jsonl, from which the fault table is made).
 */

const REPORTS = fileURLToPath(new URL("../../.local/reports/", import.meta.url));

/** A record as read back from a findings topic (by our client or by Kafka's console consumer). */
export interface ReadRecord {
  key: string | null;
  value: string | null;
}

export interface Tally {
  /** Transaction findings (not MODEL-DRIFT, not tombstones). */
  findings: number;
  /** Findings beyond the first per uniqueKey. */
  duplicates: number;
  /** Expected transactions without any finding. */
  missing: string[];
  /** Findings of transactions nobody expected. */
  unexpected: string[];
  /** The transaction findings, parsed, by transaction hash (last one wins). */
  byHash: Map<string, Finding>;
}

/** Counts findings against the transactions that should each have exactly one. */
export function tallyFindings(records: ReadRecord[], expectedTxHashes: Iterable<string>): Tally {
  const expected = new Set(expectedTxHashes);
  const perKey = new Map<string, number>();
  const byHash = new Map<string, Finding>();
  let findings = 0;
  for (const r of records) {
    if (r.value === null) continue;
    const f = parseFinding(r.value);
    if (f.alertId === "MODEL-DRIFT") continue;
    findings += 1;
    perKey.set(f.uniqueKey, (perKey.get(f.uniqueKey) ?? 0) + 1);
    byHash.set(f.source.transactions![0]!.hash, f);
  }
  let duplicates = 0;
  for (const n of perKey.values()) duplicates += n - 1;
  return {
    findings,
    duplicates,
    missing: [...expected].filter((h) => !byHash.has(h)),
    unexpected: [...byHash.keys()].filter((h) => !expected.has(h)),
    byHash,
  };
}

/**
 * The live view of a compacted topic: per key the last value, keys whose last record is a
 * tombstone left out. What a reader sees once compaction has run.
 */
export function compactedView(records: ReadRecord[]): Map<string, string> {
  const live = new Map<string, string>();
  for (const r of records) {
    if (r.key === null) continue;
    if (r.value === null) live.delete(r.key);
    else live.set(r.key, r.value);
  }
  return live;
}

export interface FaultLine {
  case: string;
  /** Input messages of the case. */
  n: number;
  findings: number;
  duplicates: number;
  missing: number;
  dlq: number;
  /** Seconds from the fault's end (service back) to the next committed finding, where it applies. */
  recoverySec?: number;
  /** Who counted: "kafka-console-consumer" (Kafka's own) or "kafkajs" (the test's client). */
  countedBy: string;
  note?: string;
}

/** Prints the case's one line and appends it to .local/reports/faults.jsonl. */
export function reportFault(line: FaultLine): void {
  const rec = line.recoverySec === undefined ? "-" : `${line.recoverySec.toFixed(1)} s`;
  console.log(
    `[fault] ${line.case}: in ${line.n}, findings ${line.findings}, duplicates ${line.duplicates}, missing ${line.missing}, dlq ${line.dlq}, recovery ${rec} (counted by ${line.countedBy})${line.note ? `; ${line.note}` : ""}`,
  );
  mkdirSync(REPORTS, { recursive: true });
  appendFileSync(`${REPORTS}faults.jsonl`, `${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);
}

/**
 * Creates a topic of the current test with topic-level configs (e.g. a small
 * `max.message.bytes`), deleted when the test ends.
 */
export async function createConfiguredTopic(
  tag: string,
  numPartitions: number,
  configs: Record<string, string>,
): Promise<string> {
  const topic = uniqueName(tag);
  const admin = await connectedAdmin();
  await createTopicsReady(admin, [
    {
      topic,
      numPartitions,
      replicationFactor: 1,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    },
  ]);
  onTestFinished(async () => {
    const a = await connectedAdmin();
    await a.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
  });
  return topic;
}

/** Waits until the group committed up to the high watermark of every partition of `topic`. */
export async function waitCommittedToEnd(topic: string, group: string, timeoutMs = 60_000): Promise<void> {
  const admin = await connectedAdmin();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const high = await admin.fetchTopicOffsets(topic);
    const done = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
    const behind = high.filter(
      (p) => (done.find((d) => d.partition === p.partition)?.offset ?? "-1") !== p.high,
    );
    if (behind.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `Group ${group} did not commit to the end of ${topic}: ${behind.map((p) => `partition ${p.partition} high ${p.high}`).join(", ")}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An in-process score stage on `env`, started, and stopped when the test ends. */
export async function startScoreStage(
  env: Record<string, string>,
  opts: { registry?: Registry; level?: "error" | "warn" | "info" } = {},
): Promise<ScoreStage> {
  const stage = await createScoreStage({
    config: loadConfig(env),
    logger: createLogger({ level: opts.level ?? "error" }),
    registry: opts.registry ?? new Registry(),
  });
  onTestFinished(() => stage.stop());
  await stage.start();
  return stage;
}

/** Token lookups and first-transaction times of every address, from the API stand-in. */
const firstTxOf = (a: string) => 1_600_000_000 + Number.parseInt(a.slice(-5), 16);

export interface RedisFaultSetup {
  transfers: string;
  findings: string;
  dlq: string;
  group: string;
  /** A score stage's environment: enrichment in-process through Redis at the given URL. */
  env: Record<string, string>;
}

/**
 * Fresh topics, a group and an Etherscan/Ethplorer stand-in for a score stage whose every batch
 * needs Redis (cache reads, queued lookups): the Redis fault cases' common set-up.
 */
export async function redisFaultSetup(name: string, redisUrl: string): Promise<RedisFaultSetup> {
  const api = await startStandin({
    firstTx: firstTxOf,
    tokens: STANDIN_TEST_TOKENS,
  });
  onTestFinished(() => api.close());
  const transfers = await createTestTopic(`${name}-transfers`, 3);
  const findings = await createTestTopic(`${name}-findings`, 3);
  const dlq = await createTestTopic(`${name}-dlq`, 1);
  const group = uniqueName(name);
  const env = {
    ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    ATT_REDIS_URL: redisUrl,
    ATT_REDIS_PREFIX: uniqueName(name),
    ATT_TOPIC_TRANSFERS: transfers,
    ATT_TOPIC_FINDINGS: findings,
    ATT_TOPIC_DLQ: dlq,
    ATT_SCORE_GROUP_ID: group,
    ATT_SCORE_TRANSACTIONAL_ID_PREFIX: group,
    ATT_METRICS_PORT: "0",
    ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
    ATT_ETHPLORER_URL: api.url,
    ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
    ATT_ETHERSCAN_URL: `${api.url}/api`,
    ATT_ETHERSCAN_API_KEY: "fault-key",
    ATT_ENRICH_TOKEN_RATE_MAX: "1000",
    ATT_ENRICH_FIRST_TX_RATE_MAX: "1000",
    ATT_ENRICH_CONCURRENCY: "32",
  };
  return { transfers, findings, dlq, group, env };
}

/** `n` synthetic transactions, each from its own sender (`senderBase + i`): no batch can be served from the in-process cache. */
export function txsWithOwnSenders(n: number, seed: number, senderBase: number): TokenTransferTx[] {
  return syntheticTxs(n, { seed, senders: 1_000_000 }).map((tx, i) => ({
    ...tx,
    from: `0x${(senderBase + i).toString(16).padStart(40, "0")}`,
  }));
}

/**
 * The group's committed offsets on `topic`, sampled every 100 ms until `stop()`: `movedAfter(t)`
 * is the seconds from `t` to the first sample after it whose committed total grew (NaN if none).
 */
export async function watchCommitted(
  group: string,
  topic: string,
): Promise<{ movedAfter(t: number): number; stop(): Promise<void> }> {
  const admin = await connectedAdmin();
  const progress: { at: number; committed: number }[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const parts = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
      progress.push({
        at: Date.now(),
        committed: parts.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0),
      });
      await sleep(100);
    }
  })();
  return {
    movedAfter(t) {
      const before = [...progress].reverse().find((p) => p.at <= t)?.committed ?? 0;
      const next = progress.find((p) => p.at > t && p.committed > before);
      return next ? (next.at - t) / 1000 : Number.NaN;
    },
    async stop() {
      watching = false;
      await watcher;
    },
  };
}

type TxMessages = ReturnType<typeof toKafkaMessages>;

/** A steady stream to `topic`: `perTick` messages every `tickMs`, from one producer of the test. */
export async function pacedSender(
  topic: string,
  perTick: number,
  tickMs: number,
): Promise<(part: TxMessages) => Promise<void>> {
  const producer = await connectedProducer();
  return async (part) => {
    for (let i = 0; i < part.length; i += perTick) {
      await producer.send({ topic, messages: part.slice(i, i + perTick) });
      await sleep(tickMs);
    }
  };
}

/**
 * Reads `findings` and `dlq` back with Kafka's console consumer (read_committed) and checks what
 * an outage of our own infrastructure must leave: one finding per transaction, none missing, none
 * INVALID, nothing dead-lettered.
 */
export async function expectEveryTxScoredOnce(opts: {
  findings: string;
  dlq: string;
  txs: readonly TokenTransferTx[];
}): Promise<{ tally: Tally; dead: ReadRecord[] }> {
  const out = await consoleConsume({
    topic: opts.findings,
    readCommitted: true,
    timeoutMs: 20_000,
    expected: opts.txs.length,
  });
  const tally = tallyFindings(
    out,
    opts.txs.map((x) => x.txHash),
  );
  const invalid = out.filter(
    (r) => r.value && parseFinding(r.value).alertId === "INVALID-TOKEN-TRANSFERS-TX",
  );
  const dead = await consoleConsume({ topic: opts.dlq, readCommitted: true, timeoutMs: 3000 });
  expect(tally.missing).toHaveLength(0);
  expect(tally.duplicates).toBe(0);
  expect(invalid.map((r) => parseFinding(r.value!).metadata.invalid_reason)).toEqual([]);
  expect(dead).toHaveLength(0);
  return { tally, dead };
}
