/**
 * The bare pipe of bench/pipe.ts, run as its own process like `att score`: a plain kafkajs 2.2.4
 * consumer group over the transfers topic and, per input partition, a transactional producer that
 * writes one record per input message — a fixed value of the size of att score's findings, a
 * 66-character key and the alert-id header — and commits the offsets in the same transaction.
 * No parsing, no features, no model: what a consume-transform-produce loop costs kafkajs itself,
 * written as anyone would (kafkajs as published, none of src/kernel/kafka/'s patches, string values).
 *
 * Producer and fetch settings are att score's: idempotent, one request in flight, 60 s transaction
 * timeout, retries after 20 ms, the same batch size and partitions consumed concurrently, and the
 * same codec (BARE_COMPRESSION: lz4 and zstd registered with kafkajs's CompressionCodecs from
 * the same npm packages, as kafkajs's documentation shows for any codec).
 *
 * Environment: BARE_BROKERS, BARE_IN, BARE_OUT, BARE_GROUP, BARE_RECORD_BYTES, BARE_BATCH_MAX, BARE_COMPRESSION,
 * BARE_PARTITIONS_CONCURRENTLY, BARE_MAX_BYTES_PER_PARTITION, BARE_MAX_BYTES. Prints
 * "Joined consumer group" once it has partitions (what the bench's clock starts on).
 */
// The bare pipe is kafkajs as published on purpose: what a naive pipe pays, without our patches.
// eslint-disable-next-line @typescript-eslint/no-restricted-imports
import kafkajs, { Kafka, logLevel, type Producer } from "kafkajs";
import { compress as zstdCompress, decompress as zstdDecompress } from "@mongodb-js/zstd";
import { compressFrame, decompressFrame } from "lz4-napi";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`bare pipe: ${k} is not set`);
  return v;
};
const IN = env("BARE_IN");
const OUT = env("BARE_OUT");
const GROUP = env("BARE_GROUP");
const RECORD_BYTES = Number(env("BARE_RECORD_BYTES"));
const BATCH_MAX = Number(env("BARE_BATCH_MAX"));
// kafkajs is CommonJS: Node's ESM loader finds no named export `CompressionCodecs` in it.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const CODEC = env("BARE_COMPRESSION");
const COMPRESSION = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}[CODEC];
if (COMPRESSION === undefined) throw new Error(`bare pipe: unknown BARE_COMPRESSION ${CODEC}`);
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: { buffer: Buffer }) => zstdCompress(encoder.buffer, 3),
  decompress: (buffer: Buffer) => zstdDecompress(buffer),
});

const kafka = new Kafka({
  clientId: "att-bench-bare-pipe",
  brokers: env("BARE_BROKERS").split(","),
  logLevel: logLevel.WARN,
  retry: { initialRetryTime: 200, maxRetryTime: 1_000, multiplier: 2, factor: 0.2, retries: 50 },
});
const consumer = kafka.consumer({
  groupId: GROUP,
  maxBytesPerPartition: Number(env("BARE_MAX_BYTES_PER_PARTITION")),
  maxBytes: Number(env("BARE_MAX_BYTES")),
  readUncommitted: false,
});
const producers = new Map<number, Promise<Producer>>();
function producerFor(partition: number): Promise<Producer> {
  let p = producers.get(partition);
  if (!p) {
    const producer = kafka.producer({
      transactionalId: `${GROUP}.${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 20, retries: Number.MAX_SAFE_INTEGER },
    });
    p = producer.connect().then(() => producer);
    producers.set(partition, p);
  }
  return p;
}

const VALUE = "x".repeat(RECORD_BYTES);
const HEADERS = { "att-alert-id": "NORMAL-TOKEN-TRANSFERS-TX" };

let joined = false;
consumer.on(consumer.events.GROUP_JOIN, () => {
  if (!joined) console.log("Joined consumer group");
  joined = true;
});

await consumer.connect();
await consumer.subscribe({ topic: IN, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: Number(env("BARE_PARTITIONS_CONCURRENTLY")),
  eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    const producer = await producerFor(batch.partition);
    for (let i = 0; i < batch.messages.length && isRunning() && !isStale(); i += BATCH_MAX) {
      const chunk = batch.messages.slice(i, i + BATCH_MAX);
      const last = chunk[chunk.length - 1]!.offset;
      const txn = await producer.transaction();
      try {
        await txn.send({
          topic: OUT,
          compression: COMPRESSION,
          messages: chunk.map((m) => ({
            key: `0x${batch.partition.toString(16).padStart(8, "0")}${m.offset.padStart(56, "0")}`,
            value: VALUE,
            headers: HEADERS,
          })),
        });
        await txn.sendOffsets({
          consumerGroupId: GROUP,
          topics: [
            { topic: IN, partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }] },
          ],
        });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
      resolveOffset(last);
      await heartbeat();
    }
  },
});

const stop = async () => {
  await consumer.disconnect().catch(() => undefined);
  for (const p of producers.values()) await (await p).disconnect().catch(() => undefined);
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
