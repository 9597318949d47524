import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { parseFinding } from "../../src/contracts/finding.js";
import { connectedProducer, createTestTopic, readTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { testPrefix, testRedis } from "../helpers/redis.js";
import { scoreEnv } from "../helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs } from "../helpers/transfers.js";
import { compactedView, reportFault, waitCommittedToEnd, startScoreStage } from "./harness.js";

/**
 * Reorgs while the scorer is behind: a transaction, its `removed: true`, and its re-inclusion in
 * another block arrive together. After compaction (last record per key wins, a tombstone
 * deletes), the live findings must be exactly those of the canonical chain's transactions — in
 * one batch (the whole story in one Kafka transaction) and across batches (one message each).
 */

const blockHash = (tag: number) => `0x${tag.toString(16).padStart(64, "0")}`;

function inBlock(tx: TokenTransferTx, tag: number, removed = false): TokenTransferTx {
  return {
    ...tx,
    blockHash: blockHash(tag),
    blockNumber: tag,
    ...(removed ? { removed: true as const } : {}),
  };
}

describe("fault: retractions keep input order", () => {
  it("leaves exactly the canonical chain's findings alive after compaction, within one batch and across batches", async () => {
    const [t1, t2, t3, t4, t5] = syntheticTxs(5, { seed: 141 }) as [
      TokenTransferTx,
      TokenTransferTx,
      TokenTransferTx,
      TokenTransferTx,
      TokenTransferTx,
    ];
    const A = 0xa1;
    const B = 0xb1;
    // The story, in the order the ingester publishes it.
    const story: TokenTransferTx[] = [
      inBlock(t1, A),
      inBlock(t2, A),
      inBlock(t1, A, true), // t1 orphaned…
      inBlock(t1, B), // …and re-included in block B
      inBlock(t3, A),
      inBlock(t3, A, true), // t3 orphaned for good
      inBlock(t4, A),
      inBlock(t4, A, true), // t4 orphaned…
      inBlock(t4, A), // …and back in A after a second reorg
      inBlock(t5, A, true), // a retraction of something this group never scored
    ];
    const canonical = new Map([
      [t1.txHash, blockHash(B)],
      [t2.txHash, blockHash(A)],
      [t4.txHash, blockHash(A)],
    ]);

    const transfers = await createTestTopic("fault-reorg-transfers", 1);
    const prefix = testPrefix("fault-reorg");
    await seedEnrichmentCache(testRedis(), prefix, [t1, t2, t3, t4, t5]);
    const producer = await connectedProducer();
    await producer.send({
      topic: transfers,
      messages: story.map((tx) => ({ key: tx.from, value: JSON.stringify(tx), partition: 0 })),
    });

    for (const [mode, batchMax] of [
      ["one batch", "1000"],
      ["across batches", "1"],
    ] as const) {
      const findings = await createTestTopic("fault-reorg-findings", 1);
      const dlq = await createTestTopic("fault-reorg-dlq", 1);
      const group = uniqueName("fault-reorg");
      const env = scoreEnv({
        transfers,
        findings,
        dlq,
        group,
        prefix,
        extra: { ATT_SCORE_BATCH_MAX: batchMax },
      });
      const stage = await startScoreStage(env, { level: "error" });
      await waitCommittedToEnd(transfers, group);
      await stage.stop();

      const out = await readTopic(findings, Infinity, { timeoutMs: 15_000, idleMs: 2000 });
      const live = compactedView(out);
      const alive = new Map(
        [...live.values()].map((v) => {
          const f = parseFinding(v);
          return [f.source.transactions![0]!.hash, f.source.blocks![0]!.hash] as const;
        }),
      );
      expect(alive, mode).toEqual(canonical);
      // Each orphaned finding is followed, not preceded, by its tombstone: the next record on its key.
      out.forEach((r, i) => {
        if (r.value === null) return;
        const f = parseFinding(r.value);
        if (canonical.get(f.source.transactions![0]!.hash) === f.source.blocks![0]!.hash) return;
        const next = out.slice(i + 1).find((o) => o.key === r.key);
        expect(next?.value, `${mode}: record after the orphaned finding at ${i}`).toBeNull();
      });
      const findingsWritten = out.filter((r) => r.value !== null).length;
      reportFault({
        case: `reorg retractions ${mode} (tx, removed, re-included in another block, back in the same block)`,
        n: story.length,
        findings: alive.size,
        duplicates: 0,
        missing: [...canonical.keys()].filter((h) => !alive.has(h)).length,
        dlq: 0,
        countedBy: "kafkajs",
        note: `${findingsWritten} findings and ${out.length - findingsWritten} tombstones written; live after compaction = the canonical chain`,
      });
    }
  });
});
