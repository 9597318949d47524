import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { sleep } from "../../src/kernel/shutdown.js";
import { uniqueName } from "../../test/helpers/names.js";

/**
 * Up to `n` committed records of `topic` from its beginning, each mapped by `map` (records
 * without a value are passed over); stops at `n` or after `timeoutMs`.
 */
export async function readCommitted<T>(
  kafka: Kafka,
  topic: string,
  n: number,
  o: { group: string; timeoutMs: number; map: (m: KafkaMessage & { value: Buffer }) => T },
): Promise<T[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName(o.group),
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  const out: T[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (out.length >= n || !m.value) continue;
          out.push(o.map(m as KafkaMessage & { value: Buffer }));
        }
      },
    });
    const until = performance.now() + o.timeoutMs;
    while (out.length < n && performance.now() < until) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * Alert ids of (up to) the first `n` committed findings of `topic` — a sanity check that a
 * benchmark measured scoring and not, say, INVALID findings from a cold enrichment cache.
 */
export async function sampleFindings(
  kafka: Kafka,
  topic: string,
  n: number,
  timeoutMs = 20_000,
): Promise<string[]> {
  return readCommitted(kafka, topic, n, {
    group: "bench-findings-sample",
    timeoutMs,
    map: (m) => (JSON.parse(m.value.toString()) as { alertId?: string }).alertId ?? "(none)",
  });
}

/**
 * A read_committed reader of `topic` from its beginning that hands each record's value to
 * `onValue` with the time its batch arrived; resolves once the reader joined its group.
 */
export async function followFindings(
  kafka: Kafka,
  topic: string,
  group: string,
  onValue: (value: Buffer, at: number) => void,
): Promise<Consumer> {
  const reader = kafka.consumer({
    groupId: uniqueName(group),
    readUncommitted: false,
    maxWaitTimeInMs: 50,
  });
  let joined!: () => void;
  const readerJoined = new Promise<void>((r) => (joined = r));
  reader.on(reader.events.GROUP_JOIN, () => joined());
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  void reader.run({
    eachBatch: async ({ batch }) => {
      const at = Date.now();
      for (const m of batch.messages) if (m.value) onValue(m.value, at);
    },
  });
  await readerJoined;
  return reader;
}
