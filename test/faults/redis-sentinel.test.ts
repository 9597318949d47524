import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { createLease } from "../../src/ingest/lease.js";
import { createLogger } from "../../src/kernel/logger.js";
import { Registry } from "../../src/kernel/metrics.js";
import { createRedis } from "../../src/kernel/redis.js";
import { sleep } from "../../src/kernel/shutdown.js";
import { metricValue } from "../helpers/metrics.js";
import { uniqueName } from "../helpers/names.js";
import { startPrivateRedis } from "../helpers/private-stack.js";
import { startRedisHa } from "../helpers/redis-ha.js";
import { toKafkaMessages } from "../helpers/transfers.js";
import {
  expectEveryTxScoredOnce,
  pacedSender,
  redisFaultSetup,
  reportFault,
  startScoreStage,
  txsWithOwnSenders,
  waitCommittedToEnd,
  watchCommitted,
} from "./harness.js";

/**
 * Redis that fails over: a primary, a replica and three sentinels (quorum 2), the score stage
 * (with its in-process enrichment workers: queues, cache, events stream all in Redis) pointed at
 * them with ATT_REDIS_URL=redis+sentinel://…. Mid-stream the primary is SIGKILLed; Sentinel
 * promotes the replica and every connection must follow it. The old primary comes back as a
 * replica, and then a manual failover (SENTINEL FAILOVER: the primary demoted while alive, its
 * clients cut off, writes refused with READONLY) happens in the middle of the stream too.
 * Every transaction must get exactly one finding, none of them INVALID (an outage pauses,
 * never becomes a verdict). Each sender is new, so every batch needs Redis. Counted with Kafka's
 * own console consumer (read_committed).
 */

const N = 3000;
const PER_TICK = 40;
const TICK_MS = 200;

describe("fault: a Redis failover through Sentinel loses and duplicates nothing", () => {
  it("gives every transaction exactly one scored finding through a primary SIGKILL and a manual failover mid-stream", async () => {
    const ha = await startRedisHa();
    const { transfers, findings, dlq, group, env } = await redisFaultSetup("fault-sentinel", ha.url);
    const txs = txsWithOwnSenders(N, 191, 0xf1000000);
    const registry = new Registry();
    const stage = await startScoreStage(env, { registry, level: "warn" });

    // Committed offsets over time: when did scoring move again after each fault?
    const committed = await watchCommitted(group, transfers);
    const movedAfter = committed.movedAfter;

    const messages = toKafkaMessages(txs);
    const third = Math.floor(messages.length / 3);
    const stream = await pacedSender(transfers, PER_TICK, TICK_MS);
    // A fault `delayMs` into a stream of `part`: the fault happens while batches are in flight.
    const during = async (part: typeof messages, delayMs: number, fault: () => Promise<number>) => {
      const [, at] = await Promise.all([stream(part), sleep(delayMs).then(fault)]);
      return at;
    };

    // 1. A steady stream, caught up.
    await stream(messages.slice(0, third));
    await waitCommittedToEnd(transfers, group, 60_000);
    // 2. The primary is SIGKILLed 2 s into the next third; Sentinel promotes the replica.
    const first = await ha.primaryPort();
    let promotedSec = Number.NaN;
    const killedAt = await during(messages.slice(third, 2 * third), 2000, async () => {
      await ha.killNode(first);
      const at = Date.now();
      await ha.waitPrimaryNot(first, 30_000);
      promotedSec = (Date.now() - at) / 1000;
      return at;
    });
    await waitCommittedToEnd(transfers, group, 120_000);
    const second = await ha.primaryPort();
    expect(second).not.toBe(first);
    // 3. The old primary comes back (append-only file) as a replica of the new one.
    await ha.start();
    await ha.waitReplicaSynced(first, 30_000);
    // 4. A manual failover 2 s into the last third: the primary is demoted while alive.
    let switchedSec = Number.NaN;
    const switchedAt = await during(messages.slice(2 * third), 2000, async () => {
      const at = Date.now();
      await ha.manualFailover();
      await ha.waitPrimaryNot(second, 30_000);
      switchedSec = (Date.now() - at) / 1000;
      return at;
    });
    await waitCommittedToEnd(transfers, group, 120_000);
    await committed.stop();
    expect(await ha.primaryPort()).toBe(first);

    const { tally: t, dead } = await expectEveryTxScoredOnce({ findings, dlq, txs });
    expect(await metricValue(registry, "att_score_paused", { dependency: "redis" })).toBe(0);
    expect(stage.isReady()).toBe(true);

    // The caches the workers wrote are on the primary the sentinels name now, through the same URL.
    const check = createRedis(ha.url, { name: "att-test-check" });
    onTestFinished(() => check.disconnect());
    const role = (await check.call("ROLE")) as unknown[];
    expect(role[0]).toBe("master");
    expect(await check.exists(`${env.ATT_REDIS_PREFIX}:enrich-cache:firsttx:1:${txs[0]!.from}`)).toBe(1);

    const pauses = await metricValue(registry, "att_score_pauses_total", { dependency: "redis" });
    const afterKill = movedAfter(killedAt);
    const afterSwitch = movedAfter(switchedAt);
    reportFault({
      case: "Redis Sentinel failover: primary SIGKILL mid-stream, then a manual failover mid-stream",
      n: N,
      findings: t.findings,
      duplicates: t.duplicates,
      missing: t.missing.length,
      dlq: dead.length,
      recoverySec: afterKill,
      countedBy: "kafka-console-consumer",
      note: `0 INVALID; replica promoted ${promotedSec.toFixed(1)} s after the kill, commits resumed ${afterKill.toFixed(1)} s after it; manual failover done in ${switchedSec.toFixed(1)} s, commits resumed ${afterSwitch.toFixed(1)} s after it; ${pauses ?? 0} Redis pause(s)`,
    });
  }, 240_000);

  it("keeps the ingest lease with its holder and the fencing counter through a failover: no takeover, the next holder's token is one higher", async () => {
    const ha = await startRedisHa();
    const logger = createLogger({ level: "error" });
    const key = `${uniqueName("sentinel-lease")}:ingest:1:lease`;
    const clients = [0, 1].map((i) => createRedis(ha.url, { name: `att-test-lease-${i}` }));
    onTestFinished(() => clients.forEach((c) => c.disconnect()));
    // ttl 8 s: renewed every 2.7 s, held by our clock for 6.4 s, longer than a failover (~2.5 s).
    const ttlMs = 8000;
    const [a, b] = clients.map((redis) => createLease({ redis, key, ttlMs, pollMs: 200, logger }));
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const held = await a!.acquire(stop.signal);
    let standbyGot: number | undefined;
    const standby = b!
      .acquire(stop.signal)
      .then((r) => (standbyGot = r.fencingToken))
      .catch(() => undefined);
    // The lease and the counter are on the replica before the primary dies (WAIT 1 replica).
    expect(await clients[0]!.call("WAIT", "1", "5000")).toBe(1);

    const first = await ha.primaryPort();
    await ha.killNode(first);
    await ha.waitPrimaryNot(first, 30_000);
    // Two TTLs after the failover: the holder renewed on the new primary all along.
    await sleep(2 * ttlMs);
    expect(held.lost.aborted, "holder lost the lease").toBe(false);
    expect(a!.held).toBe(true);
    expect(standbyGot, "the standby took over").toBeUndefined();
    expect(await clients[1]!.get(key)).toBe(a!.token);
    expect(Number(await clients[1]!.get(`${key}:fence`))).toBe(held.fencingToken);

    // A clean hand-over on the new primary: the standby's token is above the holder's.
    await a!.release();
    await standby;
    expect(standbyGot).toBe(held.fencingToken + 1);
    await b!.release();
  }, 120_000);

  it("sends a write that a demoted primary refused (READONLY) again once the server it reaches is a primary, and fails it after 10 s of READONLY", async () => {
    const [a, b] = await Promise.all([
      startPrivateRedis({ port: 19540 }),
      startPrivateRedis({ port: 19541 }),
    ]);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const ours = createRedis(a.url, {
      logger: createLogger({ level: "warn", destination }),
      name: "att-test-ro",
    });
    const plain = new Redis(a.url, { maxRetriesPerRequest: 3 });
    onTestFinished(() => [ours, plain].forEach((c) => c.disconnect()));
    expect(await ours.set("before", "1")).toBe("OK");
    expect(await plain.set("before", "1")).toBe("OK");

    // A is demoted while its clients stay connected (what a failover does to a live primary).
    const admin = new Redis(a.url);
    onTestFinished(() => admin.disconnect());
    await admin.call("REPLICAOF", "127.0.0.1", String(b.port));
    await expect(plain.set("k", "plain")).rejects.toThrow(/^READONLY/);
    const pending = ours.set("k", "ours");
    await sleep(1000);
    // A is a primary again: the write that waited is sent there.
    await admin.call("REPLICAOF", "NO", "ONE");
    expect(await pending).toBe("OK");
    expect(await admin.get("k")).toBe("ours");
    expect(lines.join("")).toContain("Redis refused a write (READONLY");
    // A server that stays a replica: after 10 s of READONLY the write fails, so that the caller
    // sees an outage (the score stage pauses) instead of a write that waits for ever.
    await admin.call("REPLICAOF", "127.0.0.1", String(b.port));
    await expect(ours.set("k", "never")).rejects.toThrow(/^READONLY/);
    await admin.call("REPLICAOF", "NO", "ONE");
    expect(await ours.set("after", "1")).toBe("OK");
  }, 60_000);
});
