import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { Registry } from "../../src/kernel/metrics.js";
import { metricValue } from "../helpers/metrics.js";
import { startPrivateRedis } from "../helpers/private-stack.js";
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
 * Our own Redis fails under a steady stream: SIGKILL while the stage is idle, traffic during
 * the outage, restart (append-only file), then FLUSHALL (every cache, queue and job gone) in
 * the middle of a stream. Scoring must pause, not write verdicts: every
 * transaction gets exactly one finding and none is INVALID — each sender is new, so every batch
 * needs Redis (cache reads, queued first-transaction lookups) while it is down.
 * Counted with Kafka's own console consumer (read_committed).
 */

const N = 2400;
const PER_TICK = 40;
const TICK_MS = 200;

describe("fault: Redis outages pause scoring, they never become verdicts", () => {
  it("gives every transaction exactly one scored finding through a Redis SIGKILL + restart and a FLUSHALL mid-stream", async () => {
    const redis = await startPrivateRedis();
    const { transfers, findings, dlq, group, env } = await redisFaultSetup("fault-redis", redis.url);
    const txs = txsWithOwnSenders(N, 151, 0xf0000000);
    const registry = new Registry();
    const stage = await startScoreStage(env, { registry, level: "warn" });

    // Committed offsets over time: when did scoring move again after each fault?
    const committed = await watchCommitted(group, transfers);
    const movedAfter = committed.movedAfter;

    const messages = toKafkaMessages(txs);
    const third = Math.floor(messages.length / 3);
    const stream = await pacedSender(transfers, PER_TICK, TICK_MS);
    // 1. A steady stream, caught up; then Redis is SIGKILLed while the stage is idle, so the next
    //    batches meet it down from their first Redis call.
    await stream(messages.slice(0, third));
    await waitCommittedToEnd(transfers, group, 60_000);
    await redis.kill();
    // 2. Traffic while Redis is down (5 s), then it restarts on its append-only file.
    await stream(messages.slice(third, 2 * third));
    await new Promise((r) => setTimeout(r, 1000));
    expect(stage.isReady(), "not ready while Redis is down").toBe(false);
    await redis.start();
    const restartedAt = Date.now();
    // 3. A steady stream again, and FLUSHALL in the middle of it: every cache, queue and job gone.
    const flush = (async () => {
      await new Promise((r) => setTimeout(r, 2000));
      const client = new Redis(redis.url);
      await client.flushall();
      client.disconnect();
      return Date.now();
    })();
    await stream(messages.slice(2 * third));
    const flushedAt = await flush;
    await waitCommittedToEnd(transfers, group, 120_000);
    await committed.stop();

    const { tally: t, dead } = await expectEveryTxScoredOnce({ findings, dlq, txs });
    expect(
      await metricValue(registry, "att_score_pauses_total", { dependency: "redis" }),
    ).toBeGreaterThanOrEqual(1);
    expect(await metricValue(registry, "att_score_paused", { dependency: "redis" })).toBe(0);
    expect(stage.isReady()).toBe(true);

    const afterRestart = movedAfter(restartedAt);
    const afterFlush = movedAfter(flushedAt);
    reportFault({
      case: "Redis SIGKILL (traffic while down ~5 s) + restart, then FLUSHALL mid-stream",
      n: N,
      findings: t.findings,
      duplicates: t.duplicates,
      missing: t.missing.length,
      dlq: dead.length,
      recoverySec: afterRestart,
      countedBy: "kafka-console-consumer",
      note: `0 INVALID; commits resumed ${afterRestart.toFixed(1)} s after the restart and ${afterFlush.toFixed(1)} s after the flush`,
    });
  });
});
