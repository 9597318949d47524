/**
 * What fits in one Kafka record on each output topic. The broker checks a whole record batch
 * (all records of one partition in one produce request) against the topic's
 * `max.message.bytes`; a record batch has a 61-byte header and each record at most ~36 bytes
 * of varints around its key, value and headers (KIP-98 record format v2). The budget keeps
 * more than that aside, so a value within `valueBudget` always fits alone.
 */
export interface RecordLimits {
  /**
   * Largest value in UTF-8 bytes that a record with this key and these headers may carry on
   * `topic` (on every one of them, for a list: the record is written to each).
   */
  valueBudget(topic: string | readonly string[], key: string, headers?: Record<string, string>): number;
  /** The smallest limit among the topics: bounds the bytes of one produce request per partition. */
  readonly minMessageBytes: number;
}

const BATCH_OVERHEAD = 61;
const RECORD_OVERHEAD = 64;
const HEADER_OVERHEAD = 16;

/** The Kafka default (1 MiB + 12 bytes of log overhead), for writers that were given no limits. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

export function recordLimits(maxMessageBytes: ReadonlyMap<string, number>): RecordLimits {
  const values = [...maxMessageBytes.values()];
  return {
    minMessageBytes: values.length ? Math.min(...values) : DEFAULT_MAX_MESSAGE_BYTES,
    valueBudget(topic, key, headers) {
      let fixed = BATCH_OVERHEAD + RECORD_OVERHEAD + Buffer.byteLength(key);
      if (headers)
        for (const k in headers)
          fixed += HEADER_OVERHEAD + Buffer.byteLength(k) + Buffer.byteLength(headers[k]!);
      const limitOf = (t: string) => maxMessageBytes.get(t) ?? DEFAULT_MAX_MESSAGE_BYTES;
      return (typeof topic === "string" ? limitOf(topic) : Math.min(...topic.map(limitOf))) - fixed;
    },
  };
}

/** UTF-8 length of `s` without encoding it when it is clearly below `budget` (≤ 3 bytes per UTF-16 unit). */
export function fitsBudget(s: string, budget: number): boolean {
  return s.length * 3 <= budget || Buffer.byteLength(s) <= budget;
}
