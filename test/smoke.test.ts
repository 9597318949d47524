import { Queue, QueueEvents, Worker } from "bullmq";
import { WebSocketProvider } from "ethers";
import { describe, expect, it, onTestFinished } from "vitest";
import { useAnvil } from "./helpers/anvil.js";
import { connectedProducer, createTestTopic, readTopic } from "./helpers/kafka.js";
import { testPrefix, testRedis } from "./helpers/redis.js";

describe("the local stack", () => {
  const anvil = useAnvil();

  it("produces to and consumes from a real Kafka topic", async () => {
    const topic = await createTestTopic("smoke");
    const producer = await connectedProducer();
    await producer.send({
      topic,
      messages: [
        { key: "a", value: "hello" },
        { key: "b", value: "world" },
      ],
    });
    const got = await readTopic(topic, 2);
    expect(got.map((m) => [m.key, m.value])).toEqual([
      ["a", "hello"],
      ["b", "world"],
    ]);
  });

  it("commits a transactional produce that a read-committed consumer sees", async () => {
    const topic = await createTestTopic("smoke-txn");
    const producer = await connectedProducer({
      transactionalId: `${topic}-tx`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ key: "k", value: "committed" }] });
    await txn.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: "k", value: "aborted" }] });
    await aborted.abort();
    const got = await readTopic(topic, 2, { timeoutMs: 5000 });
    expect(got.map((m) => m.value)).toEqual(["committed"]);
  });

  it("runs a BullMQ job on Redis and returns its result", async () => {
    const connection = testRedis({ blocking: true });
    const name = testPrefix("smoke-queue");
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection: connection.duplicate() });
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: connection.duplicate(),
    });
    onTestFinished(async () => {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    await events.waitUntilReady();
    const job = await queue.add("double", { n: 21 });
    await expect(job.waitUntilFinished(events, 10_000)).resolves.toEqual({ doubled: 42 });
  });

  it("reads a new block over WebSocket from anvil", async () => {
    const provider = new WebSocketProvider(anvil.get().wsUrl);
    onTestFinished(() => provider.destroy());
    const heads = new Promise<number>((resolve) => void provider.once("block", (n: number) => resolve(n)));
    const before = await provider.getBlockNumber();
    await anvil.get().rpc("evm_mine");
    const n = await heads;
    expect(n).toBe(before + 1);
    const block = await provider.getBlock(n);
    expect(block?.number).toBe(n);
    expect(block?.parentHash).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
