import { randomBytes } from "node:crypto";
import type { Config } from "../../kernel/config/index.js";
import { labelTopicConfig } from "../../kernel/config/labels.js";
import { InfrastructureError } from "../../kernel/errors.js";
import { ensureTopics, openTransactionalProducer, type Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";

/** Creates the label topic if it is missing (compacted, one partition). */
export async function ensureLabelTopic(kafka: Kafka, topic: string, config: Config["kafka"]): Promise<void> {
  await ensureTopics(kafka, [labelTopicConfig(topic, config)]);
}

export interface LabelRecord {
  key: string;
  /** null: a tombstone (removes the key). */
  value: string | null;
}

/**
 * Writes records in one Kafka transaction: a reader with read_committed sees all or none. The
 * transactional id is new per call, so two analysts writing at the same moment never fence
 * each other.
 */
export async function writeLabelRecords(
  kafka: Kafka,
  topic: string,
  records: LabelRecord[],
  opts: { tool: string },
): Promise<void> {
  const producer = await openTransactionalProducer(kafka, {
    transactionalId: `att-${opts.tool}-${randomBytes(6).toString("hex")}`,
    maxRequestBytes: 900_000,
  });
  try {
    await producer.commit(records.map((r) => ({ topic, key: r.key, value: r.value })));
  } finally {
    await producer.close();
  }
}

/**
 * The current content of a compacted label topic: the latest value of every key, keys whose
 * latest record is a tombstone left out. Reads every partition from its log start to the last
 * stable offset listed when reading began (read_committed), with a throw-away consumer group
 * that commits nothing and is deleted afterwards. A topic that does not exist yet is empty.
 * A read that makes no progress for `idleTimeoutMs` fails as retryable (exit 75): a partial
 * list would be a wrong answer.
 */
export async function readLabelTopic(
  kafka: Kafka,
  topic: string,
  opts: { logger: Logger; idleTimeoutMs?: number },
): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `att-labels-read-${randomBytes(6).toString("hex")}`;
  try {
    if (!(await admin.listTopics()).includes(topic)) return live;
    const offsets = await admin.fetchTopicOffsets(topic);
    const pending = new Map<number, { low: bigint; high: bigint }>();
    for (const o of offsets) {
      const low = BigInt(o.low);
      const high = BigInt(o.high);
      if (high > low) pending.set(o.partition, { low, high });
    }
    if (pending.size === 0) return live;

    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    let finish!: () => void;
    let fail!: (err: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let lastProgress = Date.now();
    const advance = (partition: number, lastOffset: string | null) => {
      const p = pending.get(partition);
      if (!p || lastOffset === null) return;
      lastProgress = Date.now();
      if (BigInt(lastOffset) + 1n >= p.high) {
        pending.delete(partition);
        consumer.pause([{ topic, partitions: [partition] }]);
        if (pending.size === 0) finish();
      }
    };
    consumer.on("group-join", () => {
      lastProgress = Date.now();
      for (const [partition, p] of pending) consumer.seek({ topic, partition, offset: String(p.low) });
    });
    // Also fires for batches of transaction markers only, which never reach eachBatch.
    consumer.on("batch-end", (e) => advance(e.partition, e.lastOffset));
    consumer.on("crash", (e) => {
      if (!e.restart) fail(e.error);
    });
    const idleMs = opts.idleTimeoutMs ?? 30_000;
    const idle = setInterval(() => {
      if (Date.now() - lastProgress > idleMs)
        fail(
          new InfrastructureError(`Could not read ${topic} to its end: no progress for ${idleMs} ms`, {
            dependency: "kafka",
            code: "ATT_LABELS_READ_STALLED",
            details: [
              `Still to read: ${[...pending].map(([p, r]) => `partition ${p} up to offset ${r.high}`).join(", ")}`,
              "Fix: check that the brokers answer (ATT_KAFKA_BROKERS), then run the command again.",
            ],
          }),
        );
    }, 250);
    const running = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const p = pending.get(batch.partition);
          if (!p) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= p.high || m.key === null) continue;
            const key = m.key.toString("utf8");
            if (m.value === null) live.delete(key);
            else live.set(key, m.value.toString("utf8"));
          }
        },
      });
    })();
    running.catch(fail);
    try {
      await finished;
    } finally {
      clearInterval(idle);
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return live;
  } finally {
    await admin.disconnect();
  }
}
