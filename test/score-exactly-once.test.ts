import { describe, expect, it } from "vitest";
import { parseFinding } from "../src/contracts/finding.js";
import { sleep } from "../src/kernel/shutdown.js";
import { connectedAdmin, connectedProducer, readTopic } from "./helpers/kafka.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { spawnAtt, type AttProcess } from "./helpers/processes.js";
import { testRedis } from "./helpers/redis.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";

const TOTAL = 20_000;

describe("att score exactly-once (three processes, SIGKILL)", () => {
  it(
    "gives a read-committed reader exactly one finding per transaction while replicas are killed with SIGKILL",
    { timeout: 300_000 },
    async () => {
      const t = await createScoreTopics("eos", { transfers: 6, findings: 6 });
      const { transfers, findings, group, prefix } = t;
      const txs = syntheticTxs(TOTAL, { seed: 77, senders: 600 });
      await seedEnrichmentCache(testRedis(), prefix, txs);
      const env = scoreEnv({
        ...t,
        extra: {
          ATT_SCORE_BATCH_MAX: "250",
          ATT_SCORE_SESSION_TIMEOUT_MS: "6000",
          ATT_SCORE_HEARTBEAT_MS: "1000",
          ATT_LOG_LEVEL: "info",
        },
      });
      let serial = 0;
      const start = () => spawnAtt(`${group}-${serial++}`, ["score"], env);
      const joined = /Joined consumer group/;
      const scorers: AttProcess[] = [start(), start(), start()];
      await Promise.all(scorers.map((s) => s.waitFor(joined, 120_000)));
      const admin = await connectedAdmin();
      const committedTotal = async () => {
        const c = await admin.fetchOffsets({ groupId: group, topics: [transfers] });
        return c[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      };

      // Produce while the replicas run, so that kills land in the middle of the stream.
      const producer = await connectedProducer();
      let produced = 0;
      const producing = (async () => {
        for (let i = 0; i < TOTAL; i += 500) {
          await producer.send({ topic: transfers, messages: toKafkaMessages(txs.slice(i, i + 500)) });
          produced += 500;
          await sleep(300);
        }
      })();

      // Kill a replica that is in the group while findings are being committed; restart it.
      const midStreamKills: number[] = [];
      while (produced < TOTAL && midStreamKills.length < 6) {
        await sleep(1500 + Math.random() * 1000);
        const live = scorers
          .map((s, i) => [s, i] as const)
          .filter(([s]) => joined.test(s.output()) && s.child.exitCode === null);
        if (live.length === 0) continue;
        const [victim, index] = live[Math.floor(Math.random() * live.length)]!;
        const before = await committedTotal();
        await victim.kill("SIGKILL");
        if (before > 0 && before < TOTAL) midStreamKills.push(before);
        scorers[index] = start();
      }
      await producing;

      const high = (await admin.fetchTopicOffsets(transfers)).map((p) => `${p.partition}:${p.high}`).sort();
      await expect
        .poll(
          async () => {
            const c = await admin.fetchOffsets({ groupId: group, topics: [transfers] });
            return c[0]!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();
          },
          { timeout: 180_000, interval: 1000 },
        )
        .toEqual(high);
      // A graceful stop must not add anything either.
      await Promise.all(scorers.map((s) => s.kill("SIGTERM")));

      // Everything on the topic (not "stop at N"), so that a duplicate cannot hide a missing one.
      const out = await readTopic(findings, Infinity, {
        timeoutMs: 120_000,
        idleMs: 5000,
        readCommitted: true,
      });
      const perTx = new Map<string, number>();
      // MODEL-DRIFT findings (one per alarming drift window) are not per transaction.
      const txFindings = out.map((m) => parseFinding(m.value!)).filter((f) => f.alertId !== "MODEL-DRIFT");
      for (const f of txFindings) {
        const h = f.source.transactions![0]!.hash;
        perTx.set(h, (perTx.get(h) ?? 0) + 1);
      }
      const duplicated = [...perTx].filter(([, n]) => n > 1);
      const missing = txs.filter((t) => !perTx.has(t.txHash));
      expect(midStreamKills.length, `kills at committed=${midStreamKills.join(",")}`).toBeGreaterThanOrEqual(
        3,
      );
      expect({
        findings: txFindings.length,
        distinct: perTx.size,
        duplicated: duplicated.length,
        missing: missing.length,
      }).toEqual({
        findings: TOTAL,
        distinct: TOTAL,
        duplicated: 0,
        missing: 0,
      });
    },
  );
});
