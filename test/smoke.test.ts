import { Queue, QueueEvents, Worker } from "bullmq";
import { WebSocket } from "ws";
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

  it("reads a new block over WebSocket from anvil (eth_subscribe newHeads)", async () => {
    // A raw socket rather than ethers' WebSocketProvider, whose destroy() cancels its own
    // pending eth_unsubscribe with an unhandled rejection (and which never reconnects; PITFALLS).
    const socket = new WebSocket(anvil.get().wsUrl);
    onTestFinished(() => socket.close());
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const messages: {
      id?: number;
      result?: unknown;
      params?: { result: { number: string; parentHash: string } };
    }[] = [];
    const next = (pred: (m: (typeof messages)[number]) => boolean) =>
      new Promise<(typeof messages)[number]>((resolve) => {
        const found = messages.find(pred);
        if (found) return resolve(found);
        const on = (raw: Buffer) => {
          const m = JSON.parse(raw.toString()) as (typeof messages)[number];
          if (pred(m)) {
            socket.off("message", on);
            resolve(m);
          }
        };
        socket.on("message", on);
      });
    socket.on("message", (raw: Buffer) =>
      messages.push(JSON.parse(raw.toString()) as (typeof messages)[number]),
    );
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    const sub = await next((m) => m.id === 1);
    expect(sub.result).toMatch(/^0x/);
    const before = Number(await anvil.get().rpc<string>("eth_blockNumber"));
    await anvil.get().rpc("evm_mine");
    const head = await next((m) => m.params?.result?.number !== undefined);
    expect(Number(head.params!.result.number)).toBe(before + 1);
    expect(head.params!.result.parentHash).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
