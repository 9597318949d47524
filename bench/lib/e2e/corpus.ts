import type { Kafka } from "kafkajs";
import { readCommitted } from "../findings.js";

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
  return readCommitted(kafka, topic, n, {
    group: "bench-findings-corpus",
    timeoutMs,
    map: (m) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      return { key: m.key?.toString() ?? "", value: m.value.toString(), headers };
    },
  });
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
