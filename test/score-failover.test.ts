import { describe, expect, it, onTestFinished } from "vitest";
import { ALERT_IDS, parseFinding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { groupTimingProblems } from "../src/kernel/config/score.js";
import { sleep } from "../src/kernel/shutdown.js";
import { startStandin } from "./fixtures/api-standin/server.js";
import { connectedAdmin, connectedProducer, readTopic } from "./helpers/kafka.js";
import { runAtt, spawnAtt, type AttProcess } from "./helpers/processes.js";
import { testRedis } from "./helpers/redis.js";
import { createScoreTopics, scoreEnv, type ScoreTopics } from "./helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs, TEST_TOKENS, toKafkaMessages } from "./helpers/transfers.js";

/**
 * Group membership of `att score` replicas, read from their own logs: every "Joined consumer
 * group" line (one per generation the replica took part in) with its assignment.
 */
function joins(p: AttProcess, topic: string): number[][] {
  const out: number[][] = [];
  for (const line of p.output().split("\n")) {
    if (!line.includes('"Joined consumer group"')) continue;
    const e = JSON.parse(line) as { assignment: Record<string, number[]> };
    out.push([...(e.assignment[topic] ?? [])].sort((a, b) => a - b));
  }
  return out;
}

const latest = (p: AttProcess, topic: string) => joins(p, topic).at(-1);

/** The replicas' latest assignments split `partitions` between them: each partition owned once. */
function settled(ps: AttProcess[], topic: string, partitions: number): boolean {
  const owned = ps.map((p) => latest(p, topic));
  if (owned.some((o) => o === undefined)) return false;
  const all = owned.flat() as number[];
  return all.length === partitions && new Set(all).size === partitions;
}

/** Exactly one finding per transaction (MODEL-DRIFT findings are per window, not per transaction). */
async function findingsPerTx(t: ScoreTopics, expected: number) {
  const out = await readTopic(t.findings, Infinity, {
    timeoutMs: 120_000,
    idleMs: 5000,
    readCommitted: true,
  });
  const perTx = new Map<string, { n: number; alertId: string }>();
  for (const m of out) {
    const f = parseFinding(m.value!);
    if (f.alertId === "MODEL-DRIFT") continue;
    const h = f.source.transactions![0]!.hash;
    perTx.set(h, { n: (perTx.get(h)?.n ?? 0) + 1, alertId: f.alertId });
  }
  const findings = [...perTx.values()].reduce((s, v) => s + v.n, 0);
  return {
    counts: { findings, distinct: perTx.size, duplicated: [...perTx.values()].filter((v) => v.n > 1).length },
    perTx,
    expected: { findings: expected, distinct: expected, duplicated: 0 },
  };
}

async function waitAllCommitted(t: ScoreTopics, timeoutMs = 180_000) {
  const admin = await connectedAdmin();
  const high = (await admin.fetchTopicOffsets(t.transfers)).map((p) => `${p.partition}:${p.high}`).sort();
  await expect
    .poll(
      async () => {
        const c = await admin.fetchOffsets({ groupId: t.group, topics: [t.transfers] });
        return c[0]!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();
      },
      { timeout: timeoutMs, interval: 500 },
    )
    .toEqual(high);
}

describe("group timing options", () => {
  it("default to an 8 s session, 500 ms heartbeats and a 60 s rebalance timeout, which fit together", () => {
    const s = loadConfig({}).score;
    expect([s.sessionTimeoutMs, s.heartbeatIntervalMs, s.rebalanceTimeoutMs]).toEqual([8000, 500, 60_000]);
    expect(groupTimingProblems(s)).toEqual([]);
  });

  it("refuse a heartbeat above a third of the session and a rebalance timeout below it, saying how to fix it", async () => {
    const problems = groupTimingProblems({
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 3000,
      rebalanceTimeoutMs: 5000,
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^ATT_SCORE_HEARTBEAT_MS: got 3000, .*Expected: at most 2000\. Fix: /);
    expect(problems[1]).toMatch(
      /^ATT_SCORE_REBALANCE_TIMEOUT_MS: got 5000, .*Expected: at least 6000\. Fix: /,
    );
    // att score stops at start-up, before it joins any group, with the same message.
    const r = await runAtt(["score"], { ATT_SCORE_HEARTBEAT_MS: "4000", ATT_METRICS_PORT: "0" });
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain("ATT_SCORE_HEARTBEAT_MS: got 4000");
  });
});

describe("att score failover", () => {
  it(
    "keeps a replica whose batch waits longer than the session timeout in the group (heartbeats during the batch), findings exactly once",
    { timeout: 300_000 },
    async () => {
      const SESSION_MS = 6000;
      // Every first-transaction lookup takes 1.5 session timeouts: a batch with an unknown sender
      // really waits that long for enrichment (the broker's clock, no fake one).
      const api = await startStandin({ latencyMs: 9000, firstTx: () => 1_500_000_000 });
      onTestFinished(() => api.close());
      const t = await createScoreTopics("slowbatch", { transfers: 2, findings: 2 });
      const fast = syntheticTxs(2000, { seed: 181, senders: 200 });
      await seedEnrichmentCache(testRedis(), t.prefix, fast);
      // Senders nobody looked up yet (not in the cache): their batch waits for the slow API.
      const slow: TokenTransferTx[] = [0, 1, 2, 3].map((i) => ({
        ...fast[i]!,
        from: `0x${(0x5100 + i).toString(16).padStart(40, "0")}`,
        txHash: `0x${(0x5100 + i).toString(16).padStart(64, "0")}`,
        transfers: [
          {
            logIndex: 0,
            token: TEST_TOKENS[0]!.address,
            from: `0x${(0x5100 + i).toString(16).padStart(40, "0")}`,
            to: `0x${"77".repeat(20)}`,
            value: "1000000",
          },
        ],
      }));
      const env = scoreEnv({
        ...t,
        extra: {
          ATT_SCORE_SESSION_TIMEOUT_MS: String(SESSION_MS),
          ATT_SCORE_HEARTBEAT_MS: "500",
          ATT_SCORE_BATCH_MAX: "200",
          ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
          ATT_ETHERSCAN_URL: `${api.url}/api`,
          ATT_ETHERSCAN_API_KEY: "es-key",
          ATT_ENRICH_FIRST_TX_RATE_MAX: "100",
          ATT_ENRICH_HTTP_TIMEOUT_MS: "30000",
          ATT_LOG_LEVEL: "info",
        },
      });
      const replicas = [spawnAtt(`${t.group}-a`, ["score"], env), spawnAtt(`${t.group}-b`, ["score"], env)];
      await expect
        .poll(() => settled(replicas, t.transfers, 2), { timeout: 120_000, interval: 200 })
        .toBe(true);
      const joinsBefore = replicas.map((p) => joins(p, t.transfers).length);

      const producer = await connectedProducer();
      const send = (txs: TokenTransferTx[], partition: number) =>
        producer.send({
          topic: t.transfers,
          messages: toKafkaMessages(txs).map((m) => ({ ...m, partition })),
        });
      // Fast traffic, a slow transaction on each partition (so each replica gets one), more fast traffic.
      await send(fast.slice(0, 500), 0);
      await send(fast.slice(500, 1000), 1);
      await send(slow.slice(0, 2), 0);
      await send(slow.slice(2, 4), 1);
      await send(fast.slice(1000, 1500), 0);
      await send(fast.slice(1500, 2000), 1);
      await waitAllCommitted(t);

      // The slow path was taken: each slow sender was looked up at the API.
      const asked = new Set(api.requests.filter((r) => r.api === "etherscan").map((r) => r.address));
      expect(slow.every((s) => asked.has(s.from.toLowerCase()))).toBe(true);
      // Nobody was expelled: no replica joined the group again while the slow batches ran.
      expect(replicas.map((p) => joins(p, t.transfers).length)).toEqual(joinsBefore);
      expect(replicas.map((p) => p.child.exitCode)).toEqual([null, null]);
      const r = await findingsPerTx(t, fast.length + slow.length);
      expect(r.counts).toEqual(r.expected);
      // The slow transactions were scored with their enrichment, not given up on as INVALID.
      expect(slow.map((s) => r.perTx.get(s.txHash)?.alertId)).not.toContain(ALERT_IDS.invalid);
      await Promise.all(replicas.map((p) => p.kill("SIGTERM")));
    },
  );

  it(
    "hands a SIGTERMed and then a SIGKILLed replica's partitions to the others, findings exactly once",
    { timeout: 300_000 },
    async () => {
      const PARTITIONS = 6;
      const t = await createScoreTopics("handover", { transfers: PARTITIONS, findings: PARTITIONS });
      const txs = syntheticTxs(12_000, { seed: 182, senders: 500 });
      await seedEnrichmentCache(testRedis(), t.prefix, txs);
      const env = scoreEnv({ ...t, extra: { ATT_SCORE_BATCH_MAX: "250", ATT_LOG_LEVEL: "info" } });
      const [a, b, c] = ["a", "b", "c"].map((n) => spawnAtt(`${t.group}-${n}`, ["score"], env)) as [
        AttProcess,
        AttProcess,
        AttProcess,
      ];
      await expect
        .poll(() => settled([a, b, c], t.transfers, PARTITIONS), { timeout: 120_000, interval: 200 })
        .toBe(true);
      expect([a, b, c].map((p) => latest(p, t.transfers)!.length)).toEqual([2, 2, 2]);

      const producer = await connectedProducer();
      let produced = 0;
      const producing = (async () => {
        for (let i = 0; i < txs.length; i += 300) {
          await producer.send({ topic: t.transfers, messages: toKafkaMessages(txs.slice(i, i + 300)) });
          produced += 300;
          await sleep(150);
        }
      })();
      await expect.poll(() => produced, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(3000);

      // SIGTERM: c commits, leaves the group and exits 0; a and b split its partitions.
      const joinsAB = [a, b].map((p) => joins(p, t.transfers).length);
      expect(await c.kill("SIGTERM")).toBe(0);
      await expect
        .poll(() => settled([a, b], t.transfers, PARTITIONS), { timeout: 60_000, interval: 100 })
        .toBe(true);
      expect([a, b].map((p, i) => joins(p, t.transfers).length > joinsAB[i]!)).toEqual([true, true]);
      expect(produced).toBeLessThan(txs.length);

      // SIGKILL: b cannot leave; once its session times out, a holds every partition.
      const joinsA = joins(a, t.transfers).length;
      await b.kill("SIGKILL");
      await expect
        .poll(() => joins(a, t.transfers).length > joinsA && latest(a, t.transfers)!.length === PARTITIONS, {
          timeout: 60_000,
          interval: 100,
        })
        .toBe(true);
      expect(latest(a, t.transfers)).toEqual([0, 1, 2, 3, 4, 5]);

      await producing;
      await waitAllCommitted(t);
      const r = await findingsPerTx(t, txs.length);
      expect(r.counts).toEqual(r.expected);
      expect(await a.kill("SIGTERM")).toBe(0);
    },
  );
});
