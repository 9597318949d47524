import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { cacheKey, encodeValue } from "../../src/enrich/keys.js";
import { readMaxMessageBytes } from "../../src/kernel/kafka/index.js";
import { connectedAdmin, connectedProducer, createTestTopic } from "../helpers/kafka.js";
import { spawnAtt } from "../helpers/processes.js";
import { uniqueName } from "../helpers/names.js";
import { testPrefix, testRedis } from "../helpers/redis.js";
import { scoreEnv } from "../helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../helpers/transfers.js";
import { reportFault } from "./harness.js";

/**
 * The last resort fails: an operator lowers the findings and DLQ topics' max.message.bytes
 * below what the running stage read at start-up, and a message's finding no longer fits, nor
 * its DLQ record. The process must not re-read that chunk forever: it says which offset, exits
 * non-zero (1: the limit needs an operator), and leaves the offset uncommitted so that nothing
 * is lost.
 */
describe("fault: an unwritable DLQ record stops the process, loudly", () => {
  it("exits 1 naming the partition and offset when even the size-capped DLQ record is refused, with everything before it committed", async () => {
    const transfers = await createTestTopic("fault-dlqfull-transfers", 1);
    const findings = await createTestTopic("fault-dlqfull-findings", 1);
    const dlq = await createTestTopic("fault-dlqfull-dlq", 1);
    const group = uniqueName("fault-dlqfull");
    const prefix = testPrefix("fault-dlqfull");
    const good = syntheticTxs(20, { seed: 161 });
    const redis = testRedis();
    await seedEnrichmentCache(redis, prefix, good);
    // 1,500 distinct tokens: a ~35 KB finding, fine for 1 MiB, too large for 16 KiB.
    const tokens = Array.from(
      { length: 1500 },
      (_, i) => `0x${(0xbeef0000 + i).toString(16).padStart(40, "0")}`,
    );
    const pipe = redis.pipeline();
    tokens.forEach((address, i) =>
      pipe.set(
        cacheKey(prefix, "token", 1, address),
        encodeValue("token", {
          address,
          kind: "erc20",
          symbol: `FULL-${i}`,
          name: `Full ${i}`,
          decimals: 18,
        }),
      ),
    );
    await pipe.exec();
    const wide: TokenTransferTx = {
      ...good[0]!,
      txHash: `0x${"e1".repeat(32)}`,
      transfers: tokens.map((token, i) => ({
        logIndex: i,
        token,
        from: good[0]!.from,
        to: good[0]!.from,
        value: "1",
      })),
    };

    const scorer = spawnAtt(group, ["score"], {
      ...scoreEnv({
        transfers,
        findings,
        dlq,
        group,
        prefix,
        // Uncompressed: the broker compares the compressed batch with the limit.
        extra: { ATT_SCORE_POISON_ATTEMPTS: "1", ATT_FINDINGS_COMPRESSION: "none" },
      }),
      ATT_LOG_LEVEL: "info",
    });
    await scorer.waitFor(/"msg":"Scoring"/, 60_000);
    const admin = await connectedAdmin();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: 2, name: findings, configEntries: [{ name: "max.message.bytes", value: String(16 * 1024) }] },
        { type: 2, name: dlq, configEntries: [{ name: "max.message.bytes", value: "1024" }] },
      ],
    });
    await expect
      .poll(async () => [...(await readMaxMessageBytes(admin, [findings, dlq])).values()], {
        timeout: 10_000,
      })
      .toEqual([16 * 1024, 1024]);

    const messages = toKafkaMessages(good);
    messages.splice(10, 0, { key: wide.from, value: JSON.stringify(wide) });
    const producer = await connectedProducer();
    await producer.send({ topic: transfers, messages: messages.map((m) => ({ ...m, partition: 0 })) });

    const t0 = Date.now();
    const code = await Promise.race([
      scorer.exited,
      new Promise<string>((r) => setTimeout(() => r("still running after 90 s"), 90_000)),
    ]);
    const sec = (Date.now() - t0) / 1000;
    expect(code).toBe(1);
    const out = scorer.output();
    expect(out).toMatch(/"code":"ATT_DLQ_UNWRITABLE"/);
    expect(out).toMatch(/partition 0 offset 10/);
    // Not a loop: the DLQ record was refused once, not over and over.
    expect(out.match(/Score consumer cannot continue/g)).toHaveLength(1);
    // Everything before the poison is committed; the poison and what follows wait for the operator.
    const committed = (await admin.fetchOffsets({ groupId: group, topics: [transfers] }))[0]!.partitions[0]!
      .offset;
    expect(committed).toBe("10");
    reportFault({
      case: "DLQ record refused (topic limits lowered below what the stage read)",
      n: messages.length,
      findings: 10,
      duplicates: 0,
      missing: 0,
      dlq: 0,
      countedBy: "kafkajs",
      note: `exit 1 after ${sec.toFixed(1)} s naming partition 0 offset 10; offsets 0–9 committed, 10 onwards kept for after the fix`,
    });
  });
});
