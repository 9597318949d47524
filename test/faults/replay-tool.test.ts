import { describe, expect, it } from "vitest";
import type { Finding } from "../../src/contracts/finding.js";
import { connectedAdmin, connectedProducer, createTestTopic } from "../helpers/kafka.js";
import { consoleConsume, resetOffsets, type PartitionOffset } from "../helpers/kafka-cli.js";
import { spawnAtt } from "../helpers/processes.js";
import { testRedis } from "../helpers/redis.js";
import { createScoreTopics, scoreEnv } from "../helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../helpers/transfers.js";
import { reportFault, tallyFindings, waitCommittedToEnd, type Tally } from "./harness.js";

/**
 * Replay the way an operator does it without `att replay`: stop every `att score` of the group,
 * move the group with Kafka's own `kafka-consumer-groups --reset-offsets` (ConsumerGroupCommand),
 * start `att score` again with the same group and another findings topic. What the second run
 * writes must be exactly what the offsets say: from the earliest offset one finding per
 * transaction, the same as the first run's; from a datetime exactly the transactions produced
 * after it. Counted with Kafka's own console consumer (read_committed).
 *
 * `att score` runs as the real CLI process (spawnAtt), not the in-process stage: an operator
 * stops a process with SIGTERM, and ConsumerGroupCommand only agrees to reset a group whose
 * members have left — which here rests on the CLI's own shutdown path (finish the batch, commit,
 * leave the group, exit 0), the thing this case relies on. It costs ~3 s of start-up per run.
 */

const N = 3000;
const HOUR = 3_600_000;

describe("fault: replay with Kafka's own reset tool", () => {
  it(
    "after kafka-consumer-groups --reset-offsets, a re-run writes exactly one finding per transaction from the reset point: all of them (same uniqueKeys and verdicts) from earliest, exactly the second half from a datetime",
    { timeout: 120_000 },
    async () => {
      const t = await createScoreTopics("fault-replay", { transfers: 3, findings: 3 });
      const f2 = await createTestTopic("fault-replay-findings-2", 3);
      const f3 = await createTestTopic("fault-replay-findings-3", 3);
      const txs = syntheticTxs(N, { seed: 171, senders: 300 });
      await seedEnrichmentCache(testRedis(), t.prefix, txs);
      const firstHalf = txs.slice(0, N / 2);
      const secondHalf = txs.slice(N / 2);

      // Two halves with record timestamps an hour apart (both well inside the broker's retention).
      const base = Math.floor((Date.now() - 3 * HOUR) / 1000) * 1000;
      const producer = await connectedProducer();
      const admin = await connectedAdmin();
      const send = async (part: typeof txs, timestamp: number) => {
        const messages = toKafkaMessages(part).map((m) => ({ ...m, timestamp: String(timestamp) }));
        for (let i = 0; i < messages.length; i += 500)
          await producer.send({ topic: t.transfers, messages: messages.slice(i, i + 500) });
      };
      await send(firstHalf, base);
      // Where the second half begins on each partition: what a datetime between the halves must select.
      const secondStarts = (await admin.fetchTopicOffsets(t.transfers))
        .map((p) => ({ topic: t.transfers, partition: p.partition, offset: Number(p.high) }))
        .sort((a, b) => a.partition - b.partition);
      await send(secondHalf, base + HOUR);
      const ends = (await admin.fetchTopicOffsets(t.transfers)).map((p) => Number(p.high));
      // Each partition holds records of both halves, so each reset moves every partition.
      expect(secondStarts.every((p, i) => p.offset > 0 && p.offset < ends[i]!)).toBe(true);

      const env = scoreEnv({
        ...t,
        extra: {
          ATT_LOG_LEVEL: "info",
          // Everything is in the seeded cache; no lookup may reach a node.
          ATT_RPC_HTTP_URL: "http://127.0.0.1:9",
        },
      });
      let runs = 0;
      /** One `att score` over the whole topic into `findings`, stopped with SIGTERM. */
      const scoreRun = async (findings: string, whileRunning?: () => Promise<void>) => {
        const scorer = spawnAtt(`${t.group}-${runs++}`, ["score"], { ...env, ATT_TOPIC_FINDINGS: findings });
        const t0 = Date.now();
        await waitCommittedToEnd(t.transfers, t.group, 90_000);
        const sec = (Date.now() - t0) / 1000;
        await whileRunning?.();
        expect(await scorer.kill("SIGTERM"), scorer.output()).toBe(0);
        expect(scorer.output()).toContain("Shutdown complete");
        return sec;
      };
      const count = async (findings: string, expected: string[], atLeast: number) => {
        const out = await consoleConsume({
          topic: findings,
          readCommitted: true,
          timeoutMs: 15_000,
          expected: atLeast,
        });
        return tallyFindings(out, expected);
      };
      const reset = (to: Parameters<typeof resetOffsets>[0]["to"]) =>
        resetOffsets({ group: t.group, topic: t.transfers, to, execute: true });
      const byPartition = (offsets: PartitionOffset[]) =>
        offsets
          .map(({ partition, offset }) => ({ partition, offset }))
          .sort((a, b) => a.partition - b.partition);
      const sameVerdicts = (a: Tally, b: Tally, hashes: string[]) => {
        const pick = (f: Finding | undefined) => f && [f.uniqueKey, f.alertId, f.metadata.anomaly_score];
        return hashes.filter(
          (h) => JSON.stringify(pick(a.byHash.get(h))) !== JSON.stringify(pick(b.byHash.get(h))),
        );
      };
      const all = txs.map((x) => x.txHash);

      // Run 1 into F1. While it is a member, Kafka's tool refuses to move the group.
      const sec1 = await scoreRun(t.findings, async () => {
        await expect(reset("earliest")).rejects.toThrow(/inactive/);
      });
      const t1 = await count(t.findings, all, N);
      expect(t1.missing).toEqual([]);
      expect(t1.unexpected).toEqual([]);
      expect(t1.duplicates).toBe(0);

      // Reset to earliest; run 2 into F2: the same findings again.
      expect(byPartition(await reset("earliest"))).toEqual(
        [0, 1, 2].map((partition) => ({ partition, offset: 0 })),
      );
      const sec2 = await scoreRun(f2);
      const t2 = await count(f2, all, N);
      expect(t2.missing).toEqual([]);
      expect(t2.unexpected).toEqual([]);
      expect(t2.duplicates).toBe(0);
      expect(sameVerdicts(t1, t2, all)).toEqual([]);
      // Nothing of this input is bad: a DLQ record would be a run's mistake.
      const dead = await consoleConsume({ topic: t.dlq, readCommitted: true, timeoutMs: 3000 });
      expect(dead).toHaveLength(0);
      const anomalous = [...t2.byHash.values()].filter(
        (f) => f.alertId !== "NORMAL-TOKEN-TRANSFERS-TX",
      ).length;
      reportFault({
        case: "replay: att score (CLI) stopped, kafka-consumer-groups --reset-offsets --to-earliest, re-run into a second findings topic",
        n: N,
        findings: t2.findings,
        duplicates: t2.duplicates,
        missing: t2.missing.length,
        dlq: dead.length,
        countedBy: "kafka-console-consumer",
        note: `same uniqueKey, verdict and score as the first run for all ${N} (${anomalous} not NORMAL); refused while the group had a member; runs ${sec1.toFixed(1)} s and ${sec2.toFixed(1)} s from spawn to committed end`,
      });

      // Reset to a time between the halves; run 3 into F3: exactly the second half.
      const at = new Date(base + HOUR / 2);
      expect(byPartition(await reset({ datetime: at }))).toEqual(byPartition(secondStarts));
      const sec3 = await scoreRun(f3);
      const second = secondHalf.map((x) => x.txHash);
      const t3 = await count(f3, second, secondHalf.length);
      expect(t3.missing).toEqual([]);
      expect(t3.unexpected).toEqual([]);
      expect(t3.duplicates).toBe(0);
      expect(sameVerdicts(t1, t3, second)).toEqual([]);
      const dead3 = await consoleConsume({ topic: t.dlq, readCommitted: true, timeoutMs: 3000 });
      expect(dead3).toHaveLength(0);
      reportFault({
        case: "replay: kafka-consumer-groups --reset-offsets --to-datetime between two halves produced an hour apart, re-run into a third findings topic",
        n: secondHalf.length,
        findings: t3.findings,
        duplicates: t3.duplicates,
        missing: t3.missing.length,
        dlq: dead3.length,
        countedBy: "kafka-console-consumer",
        note: `${t3.unexpected.length} of the first half's ${firstHalf.length}; reset to ${at.toISOString()} = each partition's first second-half offset (${secondStarts.map((p) => `${p.partition}:${p.offset}`).join(", ")}); run ${sec3.toFixed(1)} s`,
      });
    },
  );
});
