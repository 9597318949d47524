import { kafkajsClientOf } from "./client.js";
import type { Kafka } from "./types.js";

/** The part of kafkajs' internal Cluster (kafkajs 2.2.4) that the functions below use. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  findGroupCoordinator(opts: { groupId: string }): Promise<{
    offsetCommit(request: {
      groupId: string;
      groupGenerationId: number;
      memberId: string;
      topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
    }): Promise<unknown>;
  }>;
}

const READ_UNCOMMITTED = 0;

/**
 * A kafkajs Cluster built the way `kafka.consumer()` builds one, with the client's own brokers,
 * TLS and SASL settings, for the few requests kafkajs has no public call for (its private
 * `private:Kafka:createCluster` method, kafkajs 2.2.4 src/index.js; the version is pinned and
 * checked in kafkajs-internals.ts). Connected; the caller disconnects it.
 */
async function internalCluster(
  kafka: Kafka,
  opts: { isolationLevel?: number } = {},
): Promise<InternalCluster> {
  const client = kafkajsClientOf(kafka);
  const symbol = Object.getOwnPropertySymbols(client).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const createCluster = symbol
    ? (client as unknown as Record<symbol, (o: object) => InternalCluster>)[symbol]
    : undefined;
  if (typeof createCluster !== "function") {
    throw new Error("kafkajs has no private:Kafka:createCluster: this client needs kafkajs 2.2.x");
  }
  const cluster = createCluster({ allowAutoTopicCreation: false, ...opts });
  await cluster.connect();
  return cluster;
}

/**
 * The high watermark of every partition of `topic` (the offset after the last record written,
 * committed or not). kafkajs' admin lists offsets with READ_COMMITTED only, which gives the last
 * stable offset: it stops at the first record of a transaction still open. The difference is
 * what a reader that must see everything written so far has to wait for.
 */
export async function fetchHighWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const cluster = await internalCluster(kafka, { isolationLevel: READ_UNCOMMITTED });
  try {
    await cluster.addTargetTopic(topic);
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const [offsets] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await cluster.disconnect();
  }
}

/**
 * Commits offsets for a consumer group that has no members, as the Java AdminClient's
 * alterConsumerGroupOffsets does: one OffsetCommit to the group coordinator with generation -1
 * and no member id. The broker refuses it (UNKNOWN_MEMBER_ID) if a member has joined meanwhile,
 * so it can never move a running group. kafkajs' admin.setOffsets instead joins the group as a
 * member and waits for a fetch (5 s with a paused topic).
 */
export async function commitGroupOffsets(
  kafka: Kafka,
  opts: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] },
): Promise<void> {
  const cluster = await internalCluster(kafka);
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId: opts.groupId });
    await coordinator.offsetCommit({
      groupId: opts.groupId,
      groupGenerationId: -1,
      memberId: "",
      topics: [{ topic: opts.topic, partitions: opts.partitions }],
    });
  } finally {
    await cluster.disconnect();
  }
}
