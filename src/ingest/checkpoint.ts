import { randomBytes } from "node:crypto";
import { z } from "zod";
import { HASH32_RE, toValidationError } from "../contracts/token-transfer-tx.js";
import { UpstreamError, ValidationError } from "../kernel/errors.js";
import type { Kafka } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import type { PublishedBlock } from "./types.js";

/**
 * The checkpoint record: value of the compacted topic `att.ingest-checkpoint.v1`, key = chain id.
 * Written in the same Kafka transaction as the block's messages, so the two never disagree.
 * `recent` holds the last published blocks (ascending, the last one is `blockNumber`), which is
 * what reorg detection compares against after a restart; `observedAt` per block lets an orphaned
 * block be re-derived byte for byte when its journal entry is gone.
 *
 * `fromBlock` makes `ATT_INGEST_FROM_BLOCK` / `--from-block` one-shot: the first commit after
 * starting from a requested block records that request, and every later checkpoint carries it
 * forward, so a restart or a standby with the same request resumes instead of publishing the
 * blocks again (session.ts `loadState`). Optional, so that checkpoints written before it
 * existed still load; JSON omits it when no request was ever applied.
 */
export interface Checkpoint {
  v: 1;
  chainId: number;
  blockNumber: number;
  blockHash: string;
  /** [number, hash, txCount, observedAt] of the last published blocks, ascending. */
  recent: [number, string, number, number][];
  /** Lease fencing token of the writer (monotonic across holders). */
  fencingToken: number;
  /** ms wall clock of the write. */
  updatedAt: number;
  /** The last from-block request applied on this chain (absent: none, or an older checkpoint). */
  fromBlock?: AppliedFromBlock;
}

/** A `--from-block` request as recorded in the checkpoint. */
export interface AppliedFromBlock {
  /** The requested block. */
  block: number;
  /** ms wall clock of the first commit that published from it. */
  appliedAt: number;
}

const hash = z.string().regex(HASH32_RE);
const n = z.number().int().nonnegative();
const checkpointSchema = z.strictObject({
  v: z.literal(1),
  chainId: z.number().int().positive(),
  blockNumber: n,
  blockHash: hash,
  recent: z.array(z.tuple([n, hash, n, n])),
  fencingToken: n,
  updatedAt: n,
  fromBlock: z.strictObject({ block: n, appliedAt: n }).optional(),
});

export function encodeCheckpoint(cp: Checkpoint): string {
  return JSON.stringify(cp);
}

export function decodeCheckpoint(text: string): Checkpoint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const r = checkpointSchema.safeParse(json);
  if (!r.success)
    throw toValidationError("ingest checkpoint", r.error, json, "ATT_INGEST_CHECKPOINT_INVALID");
  return r.data as Checkpoint;
}

export function toPublishedBlocks(cp: Checkpoint): PublishedBlock[] {
  return cp.recent.map(([number, h, txCount, observedAt]) => ({ number, hash: h, txCount, observedAt }));
}

export function makeCheckpoint(
  chainId: number,
  recent: PublishedBlock[],
  fencingToken: number,
  opts: { now?: number; fromBlock?: AppliedFromBlock | undefined } = {},
): Checkpoint {
  const last = recent[recent.length - 1];
  if (!last) throw new Error("a checkpoint needs at least one published block");
  return {
    v: 1,
    chainId,
    blockNumber: last.number,
    blockHash: last.hash,
    recent: recent.map((b) => [b.number, b.hash, b.txCount, b.observedAt]),
    fencingToken,
    updatedAt: opts.now ?? Date.now(),
    ...(opts.fromBlock ? { fromBlock: opts.fromBlock } : {}),
  };
}

/**
 * Reads the latest committed checkpoint of `chainId` (read_committed consumer, from the
 * beginning to the end of the topic), or undefined when there is none.
 *
 * Call it only after the transactional producer is initialised: that fences the previous
 * holder and aborts its open transaction, so the last stable offset reaches the end of the
 * topic and "the end" is well defined.
 */
export async function readCheckpoint(
  kafka: Kafka,
  opts: { topic: string; chainId: number; timeoutMs: number; logger: Logger },
): Promise<Checkpoint | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(opts.topic);
    ends = new Map(
      offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high) - 1n]),
    );
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return undefined;

  const key = String(opts.chainId);
  let latest: Checkpoint | undefined;
  let problem: unknown;
  const consumer = kafka.consumer({
    groupId: `att-ingest-checkpoint-reader-${randomBytes(6).toString("hex")}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    const reached = new Promise<void>((resolve) => {
      const mark = (partition: number, offset: string) => {
        const end = ends.get(partition);
        if (end !== undefined && BigInt(offset) >= end) ends.delete(partition);
        if (ends.size === 0) resolve();
      };
      // Control records (transaction markers) end most batches: they are not messages, so the
      // end of the topic is seen through the batch events, which count them.
      consumer.on("batch-end", (payload) => {
        if (payload.lastOffset !== null) mark(payload.partition, payload.lastOffset);
      });
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          if (message.key?.toString() === key && message.value) {
            // Only the LAST record counts: an invalid one must not let an older one win.
            try {
              latest = decodeCheckpoint(message.value.toString());
              problem = undefined;
            } catch (err) {
              latest = undefined;
              problem = err;
            }
          }
          mark(partition, message.offset);
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UpstreamError(`Reading the ingest checkpoint timed out after ${opts.timeoutMs} ms`, {
              code: "ATT_INGEST_CHECKPOINT_READ_TIMEOUT",
              details: [`Topic: ${opts.topic}`],
            }),
          ),
        opts.timeoutMs,
      );
    });
    try {
      await Promise.race([reached, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  if (problem) {
    throw new ValidationError(`The latest checkpoint of chain ${opts.chainId} in ${opts.topic} is invalid`, {
      code: "ATT_INGEST_CHECKPOINT_INVALID",
      cause: problem,
      details: [
        "Fix: restart with --from-block <n> (the block after the last one you know was published: the ingester then starts there and replaces this record), or point ATT_INGEST_CHECKPOINT_TOPIC at a fresh topic.",
      ],
    });
  }
  return latest;
}
