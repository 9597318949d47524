import { describe, expect, it } from "vitest";
import { filterAbortedMessages, kafkajsFixActive } from "../src/kernel/kafka/read-committed-fix.js";
import { connectedProducer, createTestTopic, readTopic } from "./helpers/kafka.js";

describe("read_committed with kafkajs (regression: aborted records delivered)", () => {
  it("never delivers records of a transaction that aborted after a later-started one aborted", async () => {
    expect(kafkajsFixActive()).toBe(true);
    const topic = await createTestTopic("rc", 1);
    const p1 = await connectedProducer({
      transactionalId: `${topic}-1`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const p2 = await connectedProducer({
      transactionalId: `${topic}-2`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const p3 = await connectedProducer({
      transactionalId: `${topic}-3`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    // t1 begins first and aborts last: the broker lists t2's abort before t1's, which kafkajs's
    // own filter mishandles (it delivered "t1-aborted").
    const t1 = await p1.transaction();
    await t1.send({ topic, messages: [{ value: "t1-aborted" }] });
    const t2 = await p2.transaction();
    await t2.send({ topic, messages: [{ value: "t2-aborted" }] });
    await t2.abort();
    await t1.send({ topic, messages: [{ value: "t1-aborted-too" }] });
    await t1.abort();
    const t3 = await p3.transaction();
    await t3.send({ topic, messages: [{ value: "t3-committed" }] });
    await t3.commit();
    const seen = await readTopic(topic, Infinity, { timeoutMs: 15_000, idleMs: 3000, readCommitted: true });
    expect(seen.map((m) => m.value)).toEqual(["t3-committed"]);
  });

  it("filters like the Java consumer: every aborted transaction that has begun is active, whatever the list order", () => {
    const msg = (offset: number, producerId: string, inTransaction = true, abortMarker = false) => ({
      offset: String(offset),
      key: abortMarker ? Buffer.from([0, 0, 0, 0]) : Buffer.from("k"),
      batchContext: { producerId, inTransaction },
    });
    const messages = [
      msg(0, "1"),
      msg(1, "2"),
      msg(2, "1"),
      msg(3, "2", true, true),
      msg(4, "1", true, true),
      msg(5, "3"),
      msg(6, "4", false),
    ];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { firstOffset: "1", producerId: "2" },
        { firstOffset: "0", producerId: "1" },
      ],
    });
    expect(kept.map((m) => m.offset)).toEqual(["3", "4", "5", "6"]);
  });
});
