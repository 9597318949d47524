/**
 * Kafka's murmur2 (the Java client's Utils.murmur2, used by the default partitioner to map a key
 * to a partition) in 32-bit integer arithmetic. kafkajs computes it with 64-bit Long objects,
 * allocating several per round: ~3 % of the score stage's CPU in bench/e2e.ts profiles, one
 * hash per finding. Our producers partition with this one through kafkajs's public
 * `createPartitioner` option (partitioner.ts); the partition of every key stays the same
 * (test/murmur2.test.ts: Kafka's own test vectors, kafkajs's function on random keys, and
 * kafkajs's default partitioner).
 */
const M = 0x5bd1e995;
const SEED = 0x9747b28c;

let scratch = new Uint8Array(128);

/** The key's UTF-8 bytes; ASCII strings (the usual keys: hex hashes and addresses) without allocating. */
function bytesOf(key: string): Uint8Array {
  const n = key.length;
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return Buffer.from(key);
    scratch[i] = c;
  }
  return scratch.subarray(0, n);
}

export function murmur2(key: Uint8Array | string | number): number {
  const data = key instanceof Uint8Array ? key : bytesOf(String(key));
  const length = data.length;
  let h = SEED ^ length;
  const len4 = length >>> 2;
  for (let i = 0; i < len4; i++) {
    const i4 = i << 2;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rem = length & 3;
  if (rem > 0) {
    if (rem === 3) h ^= data[tail + 2]! << 16;
    if (rem >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
