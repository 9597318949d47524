/**
 * kafkajs 2.2.4's record and record batch encoders (src/protocol/recordBatch/record/v0/index.js,
 * src/protocol/recordBatch/v0/index.js) rewritten to encode a produce request's batch into one
 * buffer of its exact size. kafkajs builds an Encoder per record (a zero-filled 512-byte buffer,
 * grown by copying to fit a 2 KB finding), one per header, then copies every record into a batch
 * encoder that grows by doubling, then copies that batch twice more before the request layers
 * copy it again: measured in bench/pipe.ts profiles as ~30 µs per finding of encoding, CRC and
 * the garbage collection of those buffers. Here a record is only its sizes until the batch
 * writes it, once, where it belongs (KIP-98 record format v2, the same bytes:
 * test/record-batch.test.ts compares both encoders over random records, compressed or not).
 *
 * Why a patch and not an option: kafkajs has no public hook for its record encoding; its
 * produce request requires both files directly, so this module puts itself in their place in
 * the module cache (kafkajs-internals.ts) before kafkajs loads. Speed only: the same bytes.
 */
import { createRequire } from "node:module";
import { crc32c } from "./crc32c.js";
import { isReplaced, replaceKafkajsFile } from "./kafkajs-internals.js";

const require = createRequire(import.meta.url);

/** kafkajs's Encoder class: the produce request layers expect one (`size()`, `buf`, `buffer`). */
interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}
const Encoder = require("kafkajs/src/protocol/encoder.js") as { prototype: KafkajsEncoder };
const compression = require("kafkajs/src/protocol/message/compression/index.js") as {
  lookupCodec(type: number): { compress(encoder: { buffer: Buffer }): Promise<Buffer> } | null;
  COMPRESSION_CODEC_MASK: number;
};

type Bytes = Buffer | string | null | undefined;

/** A record of a batch before it is written: what it holds and its sizes. */
interface RecordSpec {
  timestampDelta: number;
  offsetDelta: number;
  key: Bytes;
  keyBytes: number;
  value: Bytes;
  valueBytes: number;
  headers: { key: string; keyBytes: number; value: Bytes; valueBytes: number }[];
  bodyBytes: number;
  /** Bytes of the whole record: its length varint and its body. */
  size: number;
}

const zigzag32 = (v: number) => ((v << 1) ^ (v >> 31)) >>> 0;

function sizeOfUVarInt(u: number): number {
  let bytes = 1;
  while (u >= 0x80) {
    bytes += 1;
    u = Math.floor(u / 128);
  }
  return bytes;
}
const sizeOfVarInt = (v: number) => sizeOfUVarInt(zigzag32(v));

/** ZigZag of a 64-bit signed delta held as a double (exact for |v| < 2^52, which ms deltas are). */
const zigzag64 = (v: number) => (v >= 0 ? v * 2 : -v * 2 - 1);

const byteLength = (b: Bytes): number =>
  b == null ? -1 : typeof b === "string" ? Buffer.byteLength(b) : Buffer.byteLength(b);

/** `Record(...)` as kafkajs's produce request calls it: the record's sizes, written later by RecordBatch. */
function Record({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
}): RecordSpec {
  const hs: RecordSpec["headers"] = [];
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    for (const one of Array.isArray(v) ? v : [v]) {
      // kafkajs writes a header value as String(value) unless it is a Buffer.
      const val = one == null || Buffer.isBuffer(one) ? one : String(one);
      hs.push({ key: k, keyBytes: Buffer.byteLength(k), value: val, valueBytes: byteLength(val) });
    }
  }
  const k = key == null || Buffer.isBuffer(key) ? key : String(key);
  const v = value == null || Buffer.isBuffer(value) ? value : String(value);
  const keyBytes = byteLength(k);
  const valueBytes = byteLength(v);
  let bodyBytes =
    1 +
    sizeOfUVarInt(zigzag64(timestampDelta)) +
    sizeOfVarInt(offsetDelta) +
    sizeOfVarInt(keyBytes) +
    Math.max(0, keyBytes) +
    sizeOfVarInt(valueBytes) +
    Math.max(0, valueBytes) +
    sizeOfVarInt(hs.length);
  for (const h of hs)
    bodyBytes +=
      sizeOfVarInt(h.keyBytes) + h.keyBytes + sizeOfVarInt(h.valueBytes) + Math.max(0, h.valueBytes);
  return {
    timestampDelta,
    offsetDelta,
    key: k,
    keyBytes,
    value: v,
    valueBytes,
    headers: hs,
    bodyBytes,
    size: sizeOfVarInt(bodyBytes) + bodyBytes,
  };
}

function writeUVarInt(buf: Buffer, at: number, u: number): number {
  while (u >= 0x80) {
    buf[at++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[at++] = u;
  return at;
}

function writeBytes(buf: Buffer, at: number, b: Bytes, n: number): number {
  at = writeUVarInt(buf, at, zigzag32(n));
  if (n <= 0 || b == null) return at;
  return at + (typeof b === "string" ? buf.write(b, at, n, "utf8") : b.copy(buf, at));
}

function writeRecords(buf: Buffer, at: number, records: RecordSpec[]): number {
  for (const r of records) {
    at = writeUVarInt(buf, at, zigzag32(r.bodyBytes));
    buf[at++] = 0; // attributes: none used
    at = writeUVarInt(buf, at, zigzag64(r.timestampDelta));
    at = writeUVarInt(buf, at, zigzag32(r.offsetDelta));
    at = writeBytes(buf, at, r.key, r.keyBytes);
    at = writeBytes(buf, at, r.value, r.valueBytes);
    at = writeUVarInt(buf, at, zigzag32(r.headers.length));
    for (const h of r.headers) {
      at = writeBytes(buf, at, h.key, h.keyBytes);
      at = writeBytes(buf, at, h.value, h.valueBytes);
    }
  }
  return at;
}

type Int64 = number | string | bigint | { value: bigint };
const int64 = (v: Int64): bigint =>
  BigInt.asIntN(
    64,
    typeof v === "bigint"
      ? v
      : typeof v === "number"
        ? BigInt(Math.trunc(v))
        : typeof v === "string"
          ? BigInt(v)
          : v.value,
  );

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
/** firstOffset 8, length 4, partitionLeaderEpoch 4, magic 1, crc 4; the CRC covers what follows. */
const CRC_AT = 17;
const BODY_AT = 21;
/** Up to the records: BODY_AT + attributes 2, lastOffsetDelta 4, timestamps 16, producer id/epoch 10, sequence 4, count 4. */
const HEADER_BYTES = BODY_AT + 40;

/** `RecordBatch(...)` as kafkajs's produce request calls it: the batch as one Encoder of its exact size. */
async function RecordBatch({
  compression: codecType = 0,
  firstOffset = 0,
  firstTimestamp = Date.now(),
  maxTimestamp = Date.now(),
  partitionLeaderEpoch = 0,
  lastOffsetDelta = 0,
  transactional = false,
  producerId = -1,
  producerEpoch = 0,
  firstSequence = 0,
  records = [],
}: {
  compression?: number;
  firstOffset?: Int64;
  firstTimestamp?: Int64;
  maxTimestamp?: Int64;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: Int64;
  producerEpoch?: number;
  firstSequence?: number;
  records?: RecordSpec[];
}): Promise<KafkajsEncoder> {
  const codecBits = codecType & compression.COMPRESSION_CODEC_MASK;
  let recordBytes = 0;
  for (const r of records) recordBytes += r.size;
  let payload: Buffer | undefined;
  if (codecBits !== 0) {
    const plain = Buffer.allocUnsafe(recordBytes);
    writeRecords(plain, 0, records);
    const codec = compression.lookupCodec(codecType);
    if (!codec) throw new Error(`No kafkajs codec for compression type ${codecType}`);
    payload = await codec.compress({ buffer: plain });
  }
  const size = HEADER_BYTES + (payload ? payload.length : recordBytes);
  const buf = Buffer.allocUnsafe(size);
  buf.writeBigInt64BE(int64(firstOffset), 0);
  buf.writeInt32BE(size - 12, 8);
  buf.writeInt32BE(partitionLeaderEpoch, 12);
  buf.writeInt8(MAGIC_BYTE, 16);
  let at = BODY_AT;
  at = buf.writeInt16BE(codecBits | (transactional ? TRANSACTIONAL_MASK : 0), at);
  at = buf.writeInt32BE(lastOffsetDelta, at);
  at = buf.writeBigInt64BE(int64(firstTimestamp), at);
  at = buf.writeBigInt64BE(int64(maxTimestamp), at);
  at = buf.writeBigInt64BE(int64(producerId), at);
  at = buf.writeInt16BE(producerEpoch, at);
  at = buf.writeInt32BE(firstSequence, at);
  at = buf.writeInt32BE(records.length, at);
  if (payload) payload.copy(buf, at);
  else writeRecords(buf, at, records);
  buf.writeUInt32BE(crc32c(buf.subarray(BODY_AT)), CRC_AT);
  const encoder = Object.create(Encoder.prototype) as KafkajsEncoder;
  encoder.buf = buf;
  encoder.offset = size;
  return encoder;
}

const RECORD_FILE = "src/protocol/recordBatch/record/v0/index.js";
const BATCH_FILE = "src/protocol/recordBatch/v0/index.js";
const PRODUCE_REQUEST = "src/protocol/requests/produce/v3/request.js";

replaceKafkajsFile(RECORD_FILE, Record, { loadedWith: PRODUCE_REQUEST });
replaceKafkajsFile(BATCH_FILE, { RecordBatch, MAGIC_BYTE }, { loadedWith: PRODUCE_REQUEST });

/** True when kafkajs encodes produced record batches with this module (checked by tests). */
export function kafkajsRecordBatchReplaced(): boolean {
  return isReplaced(RECORD_FILE) && isReplaced(BATCH_FILE);
}
