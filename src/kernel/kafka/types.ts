/**
 * Our own narrow view of a Kafka client: only what the stages use. The one implementation is
 * kafkajs behind this folder (`createKafka`); code outside src/kernel/kafka/ never sees
 * kafkajs's API (eslint.config.js refuses the import), so swapping the client touches this
 * folder only. Shapes follow Kafka's protocol (offsets as decimal strings, as on the wire).
 */

export interface Kafka {
  /** An admin client; connect it before use, disconnect it when done. */
  admin(): Admin;
  /** A consumer group member; connect, subscribe, run. */
  consumer(options: ConsumerOptions): Consumer;
}

export interface TopicConfig {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  configEntries?: { name: string; value: string }[];
}

/** A partition's offsets: `low` = log start, `high` = end (the last stable offset: read_committed). */
export interface PartitionOffsets {
  partition: number;
  offset: string;
  low: string;
  high: string;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
}

/** A broker configuration resource type (Kafka's DescribeConfigs: 2 = topic). */
export type ConfigResourceType = number;

export interface Admin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(args: { topics: TopicConfig[]; waitForLeaders?: boolean; timeout?: number }): Promise<boolean>;
  deleteTopics(args: { topics: string[]; timeout?: number }): Promise<void>;
  fetchTopicMetadata(args: { topics: string[] }): Promise<{
    topics: { name: string; partitions: { partitionId: number; leader: number }[] }[];
  }>;
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** The earliest offset per partition whose record time is at or after `timestamp` ("-1": none). */
  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<{ partition: number; offset: string }[]>;
  /** A group's committed offsets ("-1": none). */
  fetchOffsets(args: {
    groupId: string;
    topics: string[];
  }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
  describeConfigs(args: {
    includeSynonyms: boolean;
    resources: { type: ConfigResourceType; name: string; configNames?: string[] }[];
  }): Promise<{
    resources: { resourceName: string; configEntries: { configName: string; configValue: string }[] }[];
  }>;
}

export interface ConsumerOptions {
  groupId: string;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  rebalanceTimeout?: number;
  maxBytesPerPartition?: number;
  maxBytes?: number;
  maxWaitTimeInMs?: number;
  /** false (the default) = read_committed. */
  readUncommitted?: boolean;
  allowAutoTopicCreation?: boolean;
}

export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  /** Record time, ms since the epoch as a decimal string. */
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface Batch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** The offset of the batch's last record, control records (transaction markers) included. */
  lastOffset(): string;
}

export interface EachBatchPayload {
  batch: Batch;
  /** Marks `offset` processed (for the next fetch position; commits are ours). */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /** False once the consumer stops. */
  isRunning(): boolean;
  /** True once a rebalance took this batch's partition away. */
  isStale(): boolean;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export interface RunOptions {
  autoCommit?: boolean;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
}

/** What a consumer reports; listeners get the payload. */
export interface ConsumerEvents {
  /** This member joined the group (again): a new generation, `memberAssignment` per topic. */
  "group-join": { memberAssignment: Record<string, number[]> };
  /** The consumer failed; `restart`: whether the client restarts it itself. */
  crash: { error: Error; restart: boolean };
  /**
   * A fetched batch was handled, also one made only of transaction markers or aborted records
   * (which never reach eachBatch/eachMessage): `lastOffset` is its last offset.
   */
  "batch-end": { topic: string; partition: number; lastOffset: string | null };
}

export interface Consumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(
    args: { topic: string; fromBeginning?: boolean } | { topics: string[]; fromBeginning?: boolean },
  ): Promise<void>;
  run(options: RunOptions): Promise<void>;
  stop(): Promise<void>;
  pause(topics: { topic: string; partitions: number[] }[]): void;
  seek(position: { topic: string; partition: number; offset: string }): void;
  on<E extends keyof ConsumerEvents>(event: E, listener: (payload: ConsumerEvents[E]) => void): void;
}
