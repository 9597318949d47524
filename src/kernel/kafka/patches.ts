/**
 * Every change this project makes inside kafkajs, loaded before kafkajs itself: by each module
 * of this folder that imports kafkajs (import this first) and by vitest's `setupFiles`.
 * - read-committed-fix.ts: correctness (aborted records delivered to read_committed consumers).
 * - crc32c.ts: speed only, same checksums.
 * - record-batch.ts: speed only, the same record batches encoded into one buffer each.
 * The partitioner's faster murmur2 needs no patch: it goes through kafkajs's public
 * `createPartitioner` option (partitioner.ts).
 */
import "./read-committed-fix.js";
import "./crc32c.js";
import "./record-batch.js";
