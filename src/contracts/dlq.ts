import { createHash } from "node:crypto";

/**
 * A dead-lettered message (`att.dlq.v1`): the original bytes (base64, so that non-UTF-8 input
 * survives), why it was rejected, and where it came from. Key = original key. The same fields
 * are also set as Kafka headers so tools can filter without parsing.
 *
 * A DLQ record must always fit the DLQ topic's `max.message.bytes`, or the message behind it
 * could never be committed past (base64 grows the input by 4/3: a ~790 KB input no longer fits
 * the 1 MiB default). `fitDlqRecord` keeps the original bytes when they fit; otherwise
 * `valueBase64` holds a prefix of them, `valueTruncated` is true, and `valueSize` and
 * `valueSha256` describe the whole original, which stays in the source topic at
 * `source.offset` until retention removes it.
 */
export interface DlqRecord {
  v: 1;
  error: { code: string; message: string };
  source: { topic: string; partition: number; offset: string; timestamp: string };
  key: string | null;
  valueBase64: string | null;
  /** Bytes of the original value (set on every record since the size-aware DLQ). */
  valueSize?: number;
  /** Hex sha256 of the original value (set when `valueTruncated`). */
  valueSha256?: string;
  /** True when `valueBase64` holds only a prefix of the original value. */
  valueTruncated?: true;
  stage: string;
  failedAt: string;
}

/** Longest error message kept in a record and in its header (the reason, not the payload). */
const MAX_ERROR_CHARS = 4000;
const MAX_HEADER_MESSAGE_CHARS = 1000;
/** Room kept for the JSON around a truncated payload: keys, coordinates, reason, hash. */
const ENVELOPE_SLACK = 512;

export function dlqRecord(args: {
  error: { code: string; message: string };
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  stage: string;
}): DlqRecord {
  const message =
    args.error.message.length > MAX_ERROR_CHARS
      ? `${args.error.message.slice(0, MAX_ERROR_CHARS)}… (${args.error.message.length} characters in all)`
      : args.error.message;
  return {
    v: 1,
    error: { code: args.error.code, message },
    source: { topic: args.topic, partition: args.partition, offset: args.offset, timestamp: args.timestamp },
    key: args.key ? truncateText(args.key.toString("utf8"), 1024) : null,
    valueBase64: args.value ? args.value.toString("base64") : null,
    ...(args.value ? { valueSize: args.value.length } : {}),
    stage: args.stage,
    failedAt: new Date().toISOString(),
  };
}

/**
 * The record as JSON of at most `maxBytes` UTF-8 bytes: the whole original value when it fits,
 * else a prefix of it with its size and sha256. `original` is the value `rec` was made from.
 * Throws only when even an empty payload does not fit (a limit below ~1 KB): the caller's
 * last resort.
 */
export function fitDlqRecord(rec: DlqRecord, original: Buffer | null, maxBytes: number): string {
  const whole = JSON.stringify(rec);
  if (Buffer.byteLength(whole) <= maxBytes || original === null) return whole;
  const bare: DlqRecord = {
    ...rec,
    valueBase64: "",
    valueSize: original.length,
    valueSha256: createHash("sha256").update(original).digest("hex"),
    valueTruncated: true,
  };
  const room = maxBytes - Buffer.byteLength(JSON.stringify(bare)) - ENVELOPE_SLACK;
  if (room < 0)
    throw new RangeError(`A DLQ record needs more than ${maxBytes} bytes even without its payload`);
  // base64: 4 characters per 3 bytes; a whole number of 3-byte groups keeps the prefix decodable.
  const prefixBytes = Math.floor(room / 4) * 3;
  return JSON.stringify({ ...bare, valueBase64: original.subarray(0, prefixBytes).toString("base64") });
}

function truncateText(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function dlqHeaders(rec: DlqRecord): Record<string, string> {
  return {
    "att-error-code": rec.error.code,
    "att-error-message": rec.error.message.slice(0, MAX_HEADER_MESSAGE_CHARS),
    "att-source-topic": rec.source.topic,
    "att-source-partition": String(rec.source.partition),
    "att-source-offset": rec.source.offset,
  };
}
