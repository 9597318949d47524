import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import type { Kafka } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import type { BlockSource } from "./block-source.js";
import { makeCheckpoint } from "./checkpoint.js";
import type { HeadTrigger } from "./heads.js";
import type { Journal } from "./journal.js";
import type { Lease } from "./lease.js";
import type { IngestMetrics } from "./metrics.js";
import type { IngesterOptions } from "./options.js";
import type { Publisher } from "./publisher.js";
import type { BlockHeader, PublishedBlock } from "./types.js";

/** What the ingester exposes about the active session (readiness, metrics, tests). */
export interface SessionStatus {
  head: number | undefined;
  published: { number: number; hash: string } | undefined;
  caughtUp: boolean;
}

export interface SessionDeps {
  options: IngesterOptions;
  chainId: number;
  confirmations: number;
  fencingToken: number;
  kafka: Kafka;
  source: BlockSource;
  trigger: HeadTrigger;
  journal: Journal;
  lease: Lease;
  logger: Logger;
  metrics: IngestMetrics;
  status: SessionStatus;
  /** Called with every head the session reads (reorg observation within the depth). */
  observeHead?: (head: BlockHeader) => void;
  progressStream?: NodeJS.WriteStream;
}

export interface State {
  /** Next block to publish; undefined until the first head decides it (no checkpoint). */
  next: number | undefined;
  /** Published blocks, ascending, at most options.recentBlocks. */
  recent: PublishedBlock[];
  /**
   * The from-block request that every checkpoint of this session records: the one read from
   * the checkpoint, or the one this session applies (`appliedAt` undefined until its first
   * commit, which records it in the same transaction as the first blocks published from it).
   */
  fromBlock: { block: number; appliedAt: number | undefined } | undefined;
}

/**
 * Commits messages with the checkpoint of `recent` (and of `state.fromBlock`); updates status
 * and metrics. The caller moves `state.recent`/`state.next` once it resolves.
 */
export async function commit(
  d: SessionDeps,
  publisher: Publisher,
  state: State,
  messages: TokenTransferTx[],
  recent: PublishedBlock[],
) {
  const now = Date.now();
  const fromBlock = state.fromBlock && {
    block: state.fromBlock.block,
    appliedAt: state.fromBlock.appliedAt ?? now,
  };
  const checkpoint = makeCheckpoint(d.chainId, recent, d.fencingToken, { now, fromBlock });
  try {
    await publisher.commit(messages, checkpoint, () => d.lease.assertHeld());
  } catch (err) {
    d.metrics.kafkaTransactions.inc({ result: "aborted" });
    d.metrics.blockFailures.inc({ stage: "publish" });
    throw err;
  }
  d.metrics.kafkaTransactions.inc({ result: "committed" });
  state.fromBlock = fromBlock;
  d.status.published = { number: checkpoint.blockNumber, hash: checkpoint.blockHash };
  d.metrics.publishedBlock.set(checkpoint.blockNumber);
}
