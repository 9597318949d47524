import { describe, expect, it } from "vitest";
import { connectedAdmin, connectedProducer, readTopic } from "./helpers/kafka.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { spawnAtt } from "./helpers/processes.js";
import { testRedis } from "./helpers/redis.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";

describe("att score graceful shutdown", () => {
  it(
    "on SIGTERM commits the batch in flight, exits 0, and its committed offsets match its findings exactly",
    { timeout: 180_000 },
    async () => {
      const t = await createScoreTopics("term", { transfers: 3, findings: 3 });
      const { transfers, findings, group, prefix } = t;
      const txs = syntheticTxs(30_000, { seed: 91, senders: 300 });
      await seedEnrichmentCache(testRedis(), prefix, txs);
      const producer = await connectedProducer();
      for (let i = 0; i < txs.length; i += 2000)
        await producer.send({ topic: transfers, messages: toKafkaMessages(txs.slice(i, i + 2000)) });

      const scorer = spawnAtt(
        group,
        ["score"],
        scoreEnv({
          ...t,
          extra: {
            ATT_SCORE_BATCH_MAX: "100",
          },
        }),
      );
      const admin = await connectedAdmin();
      const committed = async () =>
        (await admin.fetchOffsets({ groupId: group, topics: [transfers] }))[0]!.partitions.reduce(
          (s, p) => s + Math.max(0, Number(p.offset)),
          0,
        );
      // Stop it in the middle of the backlog, once some batches are committed.
      await expect.poll(committed, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
      const code = await scorer.kill("SIGTERM");
      expect(code).toBe(0);
      expect(scorer.output()).toContain("Shutdown complete");

      const done = await committed();
      expect(done).toBeLessThan(txs.length);
      const out = await readTopic(findings, done + 1, { timeoutMs: 10_000, readCommitted: true });
      // Offsets advance only with the findings they produced: no more, no fewer.
      const txFindings = out.filter((m) => m.headers["att-alert-id"] !== "MODEL-DRIFT");
      expect(txFindings.length).toBe(done);
    },
  );
});
