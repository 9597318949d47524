/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches, computed 8 bytes at a time
 * ("slicing-by-8"). kafkajs ships a byte-at-a-time table loop that took ~5 % of the score stage's
 * CPU in bench/e2e.ts profiles (every produced batch is checksummed). Same results:
 * test/crc32c.test.ts compares both on random input.
 *
 * Why a patch and not an option: kafkajs 2.2.4 has no public hook for the checksum — its record
 * batch encoder (src/protocol/recordBatch/v0/index.js) requires crc32C/index.js directly — so
 * this module puts itself in that file's place in the module cache when it loads (see
 * kafkajs-internals.ts). Speed only: without it kafkajs computes the same checksums.
 *
 * Inputs of 1 KiB and more (a record batch of findings is ~100-500 KiB) go to @node-rs/crc32's
 * hardware CRC-32C (SSE4.2, a prebuilt N-API module): ~10× this loop on record batches; below
 * that its call costs more than the loop.
 */
import { crc32c as hardwareCrc32c } from "@node-rs/crc32";
import { isReplaced, replaceKafkajsFile } from "./kafkajs-internals.js";

const HARDWARE_FROM_BYTES = 1024;

const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

export function crc32c(buf: Uint8Array): number {
  if (buf.length >= HARDWARE_FROM_BYTES) return hardwareCrc32c(buf as Buffer) >>> 0;
  return crc32cLoop(buf);
}

function crc32cLoop(buf: Uint8Array): number {
  let crc = ~0;
  let i = 0;
  const n = buf.length;
  for (; i + 8 <= n; i += 8) {
    const lo = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const hi = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    crc =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + (hi & 0xff)]! ^
      T[512 + ((hi >>> 8) & 0xff)]! ^
      T[256 + ((hi >>> 16) & 0xff)]! ^
      T[hi >>> 24]!;
  }
  for (; i < n; i++) crc = T[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ ~0) >>> 0;
}

const CRC_FILE = "src/protocol/recordBatch/crc32C/index.js";

replaceKafkajsFile(CRC_FILE, crc32c, { loadedWith: "src/protocol/recordBatch/v0/index.js" });

/** True when kafkajs checksums record batches with this module (checked by tests). */
export function kafkajsCrcReplaced(): boolean {
  return isReplaced(CRC_FILE);
}
