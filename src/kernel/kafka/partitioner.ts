import { randomBytes } from "node:crypto";
import { murmur2 } from "./murmur2.js";

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: Buffer | string | null; partition?: number | null };
}

const toPositive = (x: number) => x & 0x7fffffff;

/**
 * kafkajs 2.2.4's DefaultPartitioner (src/producer/partitioners/legacy/partitioner.js with the
 * Java client's murmur2) with src/kernel/kafka/murmur2.ts as its hash, given to our producers
 * through kafkajs's public `createPartitioner` option: an explicit partition wins, a key is
 * hashed, key-less records go round-robin over the partitions that have a leader.
 * test/murmur2.test.ts checks that it picks kafkajs's partitions.
 */
export function createMurmur2Partitioner(): (args: PartitionerArgs) => number {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const numPartitions = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) {
      return toPositive(murmur2(message.key)) % numPartitions;
    }
    const next = (counters.get(topic) ?? randomBytes(4).readUInt32BE(0)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0) return available[toPositive(next) % available.length]!.partitionId;
    return toPositive(next) % numPartitions;
  };
}
