import { randomBytes } from "node:crypto";
import { allowlistEntrySchema, type AllowlistEntry } from "../contracts/allowlist.js";
import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { InfrastructureError } from "../kernel/errors.js";
import type { Kafka } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";

/** What the batch processor asks of the allow-list. */
export interface AllowlistPort {
  /** The sender (kind sender) or the called contract (kind contract) of `tx` is allow-listed. */
  matches(tx: Pick<TokenTransferTx, "chainId" | "from" | "to">): boolean;
}

export interface LiveAllowlist extends AllowlistPort {
  /** Entries in force now. */
  size(): number;
  close(): Promise<void>;
}

/**
 * The allow-list a score replica keeps (issue 16): every entry of the compacted allow-list topic
 * (`<chainId>:<address>` → Allow-list entry v1; a tombstone removes the key). Read from the
 * earliest offset by a consumer of its own — a throw-away group with a random id that commits
 * nothing, so every replica reads the whole topic and none shares partitions with another —
 * then followed: an `att allowlist add|remove` reaches the batches this replica scores after it
 * within a fetch wait (~0.5 s). Resolves once the topic has been read up to the last stable
 * offset listed at start-up, so that no transaction is scored against a partial list; fails
 * (retryable: exit 75, a restart tries again) when that takes longer than `startupTimeoutMs`.
 *
 * A record that is not an Allow-list entry v1 is skipped with a warning (its key keeps the
 * entry it had).
 */
export async function openLiveAllowlist(
  kafka: Kafka,
  opts: { topic: string; logger: Logger; startupTimeoutMs: number; onFatal?: (err: unknown) => void },
): Promise<LiveAllowlist> {
  const { topic, logger } = opts;
  const entries = new Map<string, AllowlistEntry["kind"]>();
  const admin = kafka.admin();
  await admin.connect();
  let pending: Map<number, bigint>;
  try {
    pending = new Map(
      (await admin.fetchTopicOffsets(topic))
        .filter((o) => BigInt(o.high) > BigInt(o.low))
        .map((o) => [o.partition, BigInt(o.high)]),
    );
  } finally {
    await admin.disconnect();
  }
  const groupId = `att-allowlist-${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
  let caughtUp!: () => void;
  let failed!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    caughtUp = resolve;
    failed = reject;
  });
  if (pending.size === 0) caughtUp();
  let isReady = pending.size === 0;

  consumer.on("batch-end", (e) => {
    const high = pending.get(e.partition);
    if (high === undefined || e.lastOffset === null) return;
    if (BigInt(e.lastOffset) + 1n >= high) pending.delete(e.partition);
    if (pending.size === 0 && !isReady) {
      isReady = true;
      caughtUp();
    }
  });
  consumer.on("crash", (e) => {
    if (e.restart) return;
    logger.error({ msg: "The allow-list consumer stopped", topic, err: e.error });
    if (!isReady) failed(e.error);
    else opts.onFatal?.(e.error);
  });

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        if (m.key === null) continue;
        const key = m.key.toString("utf8");
        if (m.value === null) {
          if (entries.delete(key) && isReady) logger.info({ msg: "Allow-list entry removed", key });
          continue;
        }
        const parsed = allowlistEntrySchema.safeParse(parseJson(m.value.toString("utf8")));
        if (!parsed.success) {
          logger.warn({
            msg: "Skipped an allow-list record that is not an Allow-list entry v1",
            topic,
            key,
            offset: m.offset,
          });
          continue;
        }
        const e = parsed.data;
        entries.set(`${e.chainId}:${e.address}`, e.kind);
        if (isReady) logger.info({ msg: "Allow-list entry added", key, kind: e.kind });
      }
    },
  });

  const close = async () => {
    await consumer.disconnect().catch(() => undefined);
    const a = kafka.admin();
    await a
      .connect()
      .then(() => a.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => a.disconnect().catch(() => undefined));
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new InfrastructureError(
                `Could not read the allow-list topic ${topic} to its end within ${opts.startupTimeoutMs} ms`,
                {
                  dependency: "kafka",
                  code: "ATT_ALLOWLIST_NOT_READY",
                  details: [
                    "Scoring does not start on a partial allow-list.",
                    "Fix: check the brokers (ATT_KAFKA_BROKERS); raise ATT_ALLOWLIST_STARTUP_TIMEOUT_MS for a very large list.",
                  ],
                },
              ),
            ),
          opts.startupTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  logger.info({ msg: "Allow-list read", topic, entries: entries.size });

  return {
    matches(tx) {
      if (entries.size === 0) return false;
      if (entries.get(`${tx.chainId}:${tx.from}`) === "sender") return true;
      return tx.to !== null && entries.get(`${tx.chainId}:${tx.to}`) === "contract";
    },
    size: () => entries.size,
    close,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
