import type { Kafka } from "kafkajs";
import { sleep } from "../../src/kernel/shutdown.js";
import { uniqueName } from "../../test/helpers/names.js";

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
  const consumer = kafka.consumer({
    groupId: uniqueName("bench-findings-sample"),
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  const out: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (out.length >= n || !m.value) continue;
          out.push((JSON.parse(m.value.toString()) as { alertId?: string }).alertId ?? "(none)");
        }
      },
    });
    const until = performance.now() + timeoutMs;
    while (out.length < n && performance.now() < until) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  return out;
}
