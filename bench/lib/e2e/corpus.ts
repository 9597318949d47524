import type { Kafka } from "kafkajs";
import { sleep } from "../../../src/kernel/shutdown.js";
import { uniqueName } from "../../../test/helpers/names.js";

export interface FindingRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * Up to `n` committed records of a findings topic as att score wrote them (key, JSON value,
 * headers): the sizes the bare pipe copies and the corpus the compression benchmark encodes.
 */
export async function readFindings(
  kafka: Kafka,
  topic: string,
  n: number,
  timeoutMs = 30_000,
): Promise<FindingRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName("bench-findings-corpus"),
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  const out: FindingRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (out.length >= n || !m.value) continue;
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
          out.push({ key: m.key?.toString() ?? "", value: m.value.toString(), headers });
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

/** Mean UTF-8 bytes of the records' values. */
export function meanValueBytes(records: FindingRecord[]): number {
  if (!records.length) return 0;
  return records.reduce((a, r) => a + Buffer.byteLength(r.value), 0) / records.length;
}

/** V8 heap bytes allocated and GC pause time, summed over a `--trace-gc-nvp` log. */
export function gcTotals(log: string): { allocatedBytes: number; pauseMs: number; collections: number } {
  let allocatedBytes = 0;
  let pauseMs = 0;
  let collections = 0;
  for (const m of log.matchAll(/pause=([0-9.]+) .*? allocated=(\d+)/g)) {
    pauseMs += Number(m[1]);
    allocatedBytes += Number(m[2]);
    collections += 1;
  }
  return { allocatedBytes, pauseMs, collections };
}
