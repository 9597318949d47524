import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  makeCheckpoint,
  readCheckpoint,
} from "../src/ingest/checkpoint.js";
import { openPublisher } from "../src/ingest/publisher.js";
import { createLogger } from "../src/kernel/logger.js";
import { connectedProducer } from "./helpers/kafka.js";
import { ingestTopics, kafka, readAllCommitted } from "./ingest-harness.js";

const word = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

describe("the ingest publisher", () => {
  it("commits a transaction larger than the broker's batch limit when one sender fills one partition", async () => {
    const t = await ingestTopics();
    const logger = createLogger({ level: "silent" });
    const publisher = await openPublisher({
      kafka,
      transactionalId: t.transactionalId,
      topicTransfers: t.transfers,
      topicCheckpoint: t.checkpoint,
      logger,
    });
    const sender = addr(0xabc);
    const messages: TokenTransferTx[] = Array.from({ length: 2_000 }, (_, i) => ({
      v: 1,
      chainId: 31337,
      blockNumber: 5,
      blockHash: word(5),
      blockTimestamp: 1_700_000_000,
      txHash: word(1_000 + i),
      txIndex: i,
      from: sender,
      to: addr(1),
      transfers: [0, 1, 2].map((k) => ({
        logIndex: i * 3 + k,
        token: addr(100 + k),
        from: sender,
        to: addr(200 + k),
        value: ((1n << 200n) + BigInt(i)).toString(),
      })),
      observedAt: 1_700_000_000_000,
    }));
    const bytes = messages.reduce((s, m) => s + JSON.stringify(m).length, 0);
    expect(bytes).toBeGreaterThan(1024 * 1024); // above message.max.bytes' default
    const cp = makeCheckpoint(
      31337,
      [{ number: 5, hash: word(5), txCount: messages.length, observedAt: 1 }],
      1,
    );
    try {
      await publisher.commit(messages, cp);
    } finally {
      await publisher.close();
    }
    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => m.tx.txHash)).toEqual(messages.map((m) => m.txHash));
    expect(new Set(got.map((m) => m.partition)).size).toBe(1);
    const read = await readCheckpoint(kafka, {
      topic: t.checkpoint,
      chainId: 31337,
      timeoutMs: 20_000,
      logger,
    });
    expect(read).toEqual(cp);
  });
});

describe("the ingest checkpoint", () => {
  it("still reads a record written before from-block requests were recorded, and keeps one that records a request", () => {
    const old = {
      v: 1,
      chainId: 31337,
      blockNumber: 9,
      blockHash: word(9),
      recent: [[9, word(9), 1, 1]],
      fencingToken: 1,
      updatedAt: 1,
    };
    const read = decodeCheckpoint(JSON.stringify(old));
    expect(read).toEqual(old);
    expect("fromBlock" in read).toBe(false);

    const applied = { block: 7, appliedAt: 1_700_000_000_000 };
    const cp = makeCheckpoint(31337, [{ number: 9, hash: word(9), txCount: 1, observedAt: 1 }], 1, {
      fromBlock: applied,
    });
    expect(decodeCheckpoint(encodeCheckpoint(cp)).fromBlock).toEqual(applied);
    const none = makeCheckpoint(31337, [{ number: 9, hash: word(9), txCount: 1, observedAt: 1 }], 1);
    expect(encodeCheckpoint(none)).not.toContain("fromBlock");
    expect(() =>
      decodeCheckpoint(JSON.stringify({ ...old, fromBlock: { block: -1, appliedAt: 1 } })),
    ).toThrow(expect.objectContaining({ code: "ATT_INGEST_CHECKPOINT_INVALID" }) as Error);
  });

  it("refuses to resume from a corrupt latest record, even when an older one is valid, and says how to fix it", async () => {
    const t = await ingestTopics();
    const logger = createLogger({ level: "silent" });
    const producer = await connectedProducer();
    const good = makeCheckpoint(31337, [{ number: 9, hash: word(9), txCount: 1, observedAt: 1 }], 1);
    await producer.send({
      topic: t.checkpoint,
      messages: [
        { key: "31337", value: JSON.stringify(good) },
        { key: "31337", value: '{"v":1,"chainId":31337,"blockNumber":"ten"}' },
        { key: "1", value: JSON.stringify({ ...good, chainId: 1 }) },
      ],
    });
    const read = readCheckpoint(kafka, { topic: t.checkpoint, chainId: 31337, timeoutMs: 20_000, logger });
    await expect(read).rejects.toMatchObject({ code: "ATT_INGEST_CHECKPOINT_INVALID" });
    await expect(read).rejects.toThrow(/--from-block/);
    // Another chain's record in the same topic is unaffected.
    await expect(
      readCheckpoint(kafka, { topic: t.checkpoint, chainId: 1, timeoutMs: 20_000, logger }),
    ).resolves.toEqual({ ...good, chainId: 1 });
  });
});
