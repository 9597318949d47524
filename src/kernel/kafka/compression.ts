/**
 * Record batch compression codecs for kafkajs (issue 18). kafkajs 2.2.4 ships gzip only and
 * takes other codecs through its public `CompressionCodecs` registry; registered here, on load,
 * so that every client of this process writes and reads them:
 * - lz4: lz4-napi's frame format (LZ4 frame v1, independent 64 KiB blocks, no checksums), which is
 *   what Kafka's own KafkaLZ4BlockInputStream reads for record batches v2;
 * - zstd: @mongodb-js/zstd (libzstd) at level 3, Kafka's default `compression.zstd.level`.
 * Both are prebuilt native modules (N-API) installed from npm. A broker stores the batches as
 * written (topic `compression.type=producer`, the default) and consumers decompress them, so
 * the codec is a producer setting, transparent to readers: test/compression.test.ts reads
 * findings of every codec back with Kafka's console consumer.
 */
import "./patches.js";
import { compress as zstdCompress, decompress as zstdDecompress } from "@mongodb-js/zstd";
import kafkajs, { type CompressionTypes as CompressionType } from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";

// kafkajs is CommonJS: Node's ESM loader finds no named export `CompressionCodecs` in it.
const { CompressionCodecs, CompressionTypes } = kafkajs;

export const CODECS = ["none", "gzip", "lz4", "zstd"] as const;
export type Codec = (typeof CODECS)[number];

const ZSTD_LEVEL = 3;

const TYPES: Record<Codec, CompressionType> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** kafkajs's compression type of a codec. */
export function compressionType(codec: Codec): CompressionType {
  return TYPES[codec];
}

interface Encoded {
  buffer: Buffer;
}

CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: Encoded) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: Encoded) => zstdCompress(encoder.buffer, ZSTD_LEVEL),
  decompress: (buffer: Buffer) => zstdDecompress(buffer),
});
