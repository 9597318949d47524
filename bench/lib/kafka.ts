// Topic and offset helpers of the benchmarks; their Kafka clients come from
// test/helpers/kafka-clients.ts (it loads src/kernel/kafka/patches.ts before kafkajs).
import type { Admin, Message, Producer } from "kafkajs";
import { createTopicsReady } from "../../src/kernel/kafka/index.js";
import { sleep } from "../../src/kernel/shutdown.js";

export async function createTopics(
  admin: Admin,
  topics: { topic: string; partitions: number }[],
): Promise<void> {
  await createTopicsReady(
    admin,
    topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
  );
}

/** Sum of the partitions' high watermarks (= messages, for a topic written from offset 0). */
export async function highWatermarks(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
}

/** Committed offsets of `group` on `topic` (-1 → 0), summed. */
export async function committedTotal(admin: Admin, group: string, topic: string): Promise<bigint> {
  const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  let sum = 0n;
  for (const p of res[0]?.partitions ?? []) {
    const o = BigInt(p.offset);
    if (o > 0n) sum += o;
  }
  return sum;
}

/**
 * Polls until the group's committed offsets reach `target` (the high watermarks' sum); resolves
 * with performance.now() at the first poll that saw it. `onPoll` gets the committed total.
 */
export async function waitForCommitted(
  admin: Admin,
  group: string,
  topic: string,
  target: bigint,
  opts: {
    pollMs?: number;
    timeoutMs?: number;
    onPoll?: (committed: bigint) => void;
    failIf?: () => string | undefined;
  } = {},
): Promise<number> {
  const deadline = performance.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const c = await committedTotal(admin, group, topic);
    const at = performance.now();
    opts.onPoll?.(c);
    if (c >= target) return at;
    const failure = opts.failIf?.();
    if (failure) throw new Error(failure);
    if (at > deadline) throw new Error(`group ${group}: committed ${c} of ${target} before the timeout`);
    await sleep(opts.pollMs ?? 100);
  }
}

/** Produces `messages` in chunks (acks from all replicas, no compression); reports progress. */
export async function produceAll(
  producer: Producer,
  topic: string,
  messages: Message[],
  onProgress?: (sent: number) => void,
  chunk = 2000,
): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  let sent = 0;
  for (let i = 0; i < messages.length; i += chunk) {
    const part = messages.slice(i, i + chunk);
    inflight.push(
      producer.send({ topic, messages: part }).then(() => {
        sent += part.length;
        onProgress?.(sent);
      }),
    );
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
}
