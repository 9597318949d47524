import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { isRetryable } from "../kernel/errors.js";
import type { Kafka } from "../kernel/kafka.js";
import type { Logger } from "../kernel/logger.js";
import { sleep } from "../kernel/shutdown.js";
import { createOrderedFetcher } from "./backfill.js";
import type { BlockSource } from "./block-source.js";
import { makeCheckpoint, readCheckpoint, toPublishedBlocks } from "./checkpoint.js";
import { LeaseLostError } from "./errors.js";
import { extractTokenTransferTxs } from "./extract.js";
import type { HeadTrigger } from "./heads.js";
import type { Journal } from "./journal.js";
import type { Lease } from "./lease.js";
import type { IngestMetrics } from "./metrics.js";
import type { IngesterOptions } from "./options.js";
import { createProgress } from "./progress.js";
import { openPublisher, PublishError, type Publisher } from "./publisher.js";
import { findCommonAncestor } from "./reorg.js";
import { backoffDelay } from "./retry.js";
import type { FetchedBlock, PublishedBlock } from "./types.js";

/** Kafka messages per transaction at most (a broker refuses record batches above ~1 MB). */
const MAX_MESSAGES_PER_TXN = 2_000;
/** A catch-up of at least this many blocks shows progress and counts as backfill. */
const BACKFILL_MIN_BLOCKS = 10;
/** While backfilling, a Kafka transaction waits at most this long for more fetched blocks. */
const BACKFILL_MAX_BATCH_MS = 500;

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
  /** `--from-block`, consumed by the first commit of this process. */
  start: { fromBlock: number | undefined };
  progressStream?: NodeJS.WriteStream;
}

interface State {
  /** Next block to publish; undefined until the first head decides it (no checkpoint). */
  next: number | undefined;
  /** Published blocks, ascending, at most options.recentBlocks. */
  recent: PublishedBlock[];
}

/**
 * One active period on one transactional producer: open (fence, read the checkpoint), then
 * follow the chain until `signal` aborts. A fetch failure is retried here, the state unchanged;
 * a Kafka failure ends the session (its commit outcome may be unknown) and the caller opens a
 * new one, which re-reads the committed checkpoint — so nothing is skipped or published twice.
 */
export async function runSession(d: SessionDeps, signal: AbortSignal): Promise<void> {
  const o = d.options;
  const publisher = await openPublisher({
    kafka: d.kafka,
    transactionalId: o.transactionalId ?? `att-ingest-${d.chainId}`,
    topicTransfers: o.topicTransfers,
    topicCheckpoint: o.topicCheckpoint,
    logger: d.logger,
  });
  try {
    const state = await loadState(d);
    await follow(d, publisher, state, signal);
  } finally {
    await publisher.close();
  }
}

async function loadState(d: SessionDeps): Promise<State> {
  if (d.start.fromBlock !== undefined) {
    d.logger.info({
      msg: "Starting at the requested block, ignoring the checkpoint",
      from_block: d.start.fromBlock,
    });
    return { next: d.start.fromBlock, recent: [] };
  }
  const cp = await readCheckpoint(d.kafka, {
    topic: d.options.topicCheckpoint,
    chainId: d.chainId,
    timeoutMs: 30_000,
    logger: d.logger,
  });
  if (!cp) {
    d.logger.info({ msg: "No checkpoint, starting at the confirmed head" });
    return { next: undefined, recent: [] };
  }
  if (cp.fencingToken > d.fencingToken) {
    // Either a newer holder wrote it (we must step down) or Redis lost the counter; raising the
    // counter makes the next acquisition (ours or the standby's) outrank every checkpoint.
    await d.lease.raiseFence(cp.fencingToken).catch(() => undefined);
    throw new LeaseLostError("A newer ingester (higher fencing token) has written the checkpoint", {
      details: [`Checkpoint token: ${cp.fencingToken}`, `Ours: ${d.fencingToken}`],
    });
  }
  d.logger.info({
    msg: "Resuming after the checkpoint",
    block_number: cp.blockNumber,
    block_hash: cp.blockHash,
  });
  d.status.published = { number: cp.blockNumber, hash: cp.blockHash };
  d.metrics.publishedBlock.set(cp.blockNumber);
  return { next: cp.blockNumber + 1, recent: toPublishedBlocks(cp) };
}

async function follow(
  d: SessionDeps,
  publisher: Publisher,
  state: State,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  for (;;) {
    signal.throwIfAborted();
    let published = false;
    try {
      const head = await d.source.latestHeader(signal);
      d.status.head = head.number;
      d.metrics.headBlock.set(head.number);
      const target = head.number - d.confirmations;
      if (state.next === undefined) state.next = Math.max(0, target);
      if (state.recent.length === 0 && state.next > 0) {
        // Anchor: the parent of the first block we publish. Not published itself (0 messages),
        // it lets a reorg of that first block be resolved like any other.
        const parent = await d.source.header(state.next - 1, signal);
        state.recent = [{ number: parent.number, hash: parent.hash, txCount: 0, observedAt: 0 }];
      }
      const tip = state.recent[state.recent.length - 1];
      if (target >= state.next) {
        d.status.caughtUp = false;
        published = await catchUp(d, publisher, state, target, signal);
      } else if (tip) {
        // Nothing new to publish; still make sure our tip was not replaced at the same height.
        const canonical = head.number === tip.number ? head : await d.source.header(tip.number, signal);
        if (canonical.hash !== tip.hash) published = await resolveReorg(d, publisher, state, signal);
      }
      if (!published) d.status.caughtUp = state.next > target;
      failures = 0;
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof PublishError || !isRetryable(err)) throw err;
      failures += 1;
      const delay = backoffDelay(failures, 250, d.options.retryMaxMs);
      d.metrics.blockFailures.inc({ stage: "fetch" });
      d.logger.error({
        msg: "Block could not be fetched, progress stopped; retrying",
        next_block: state.next,
        retry_count: failures,
        retry_delay: delay,
        err: err instanceof Error ? err.message : String(err),
      });
      await sleep(delay, signal);
      continue;
    }
    if (!published) await d.trigger.wait(signal);
  }
}

/** Publishes blocks state.next..target in order. Returns whether anything was committed. */
async function catchUp(
  d: SessionDeps,
  publisher: Publisher,
  state: State,
  target: number,
  signal: AbortSignal,
): Promise<boolean> {
  const o = d.options;
  const from = state.next!;
  const total = target - from + 1;
  const backfill = total >= BACKFILL_MIN_BLOCKS;
  const progress = backfill
    ? createProgress({
        total,
        label: "backfill",
        logger: d.logger,
        intervalMs: o.progressIntervalMs,
        ...(d.progressStream ? { stream: d.progressStream } : {}),
      })
    : undefined;
  if (backfill) d.logger.info({ msg: "Catching up", from_block: from, to_block: target, blocks: total });
  const fetcher = createOrderedFetcher<FetchedBlock>({
    from,
    to: target,
    concurrency: o.fetchConcurrency,
    maxInFlight: o.maxBlocksInFlight,
    fetch: (n, s) => d.source.fetchBlock(n, s),
    signal,
  });
  let batch: { block: PublishedBlock; messages: TokenTransferTx[] }[] = [];
  let batchMessages = 0;
  let batchOpenedAt = 0;
  let committed = false;

  const flush = async () => {
    if (batch.length === 0) return;
    const blocks = batch.map((b) => b.block);
    const messages = batch.flatMap((b) => b.messages);
    const recent = [...state.recent, ...blocks].slice(-o.recentBlocks);
    await d.journal.record(batch.map((b) => ({ hash: b.block.hash, messages: b.messages })));
    await commit(d, publisher, messages, recent);
    state.recent = recent;
    state.next = blocks[blocks.length - 1]!.number + 1;
    committed = true;
    d.metrics.blocksPublished.inc(blocks.length);
    d.metrics.txsPublished.inc(messages.length);
    d.metrics.transfersPublished.inc(messages.reduce((s, m) => s + m.transfers.length, 0));
    if (backfill) {
      d.metrics.backfillBlocks.inc(blocks.length);
      d.metrics.backfillRemaining.set(target - state.next + 1);
      progress?.update(state.next - from);
    }
    batch = [];
    batchMessages = 0;
  };

  try {
    for await (const block of fetcher) {
      const parent = batch.length ? batch[batch.length - 1]!.block : state.recent[state.recent.length - 1];
      if (parent && (block.parentHash !== parent.hash || block.number !== parent.number + 1)) {
        // The chain changed under us. Blocks not yet committed are dropped; whether committed
        // ones were orphaned is decided against the canonical chain.
        fetcher.close();
        batch = [];
        await resolveReorg(d, publisher, state, signal);
        return true;
      }
      const observedAt = Date.now();
      const ex = extractTokenTransferTxs(block, { chainId: d.chainId, observedAt });
      for (const m of ex.malformed) {
        d.metrics.malformedLogs.inc({ reason: m.reason });
        d.logger.warn({
          msg: "Malformed Transfer log skipped",
          block_number: block.number,
          tx_hash: m.txHash,
          log_index: m.logIndex,
          token: m.token,
          reason: m.reason,
          topic_count: m.topicCount,
          data_bytes: m.dataBytes,
        });
      }
      batch.push({
        block: { number: block.number, hash: block.hash, txCount: ex.txs.length, observedAt },
        messages: ex.txs,
      });
      batchMessages += ex.txs.length;
      if (batch.length === 1) batchOpenedAt = Date.now();
      const full = batch.length >= o.maxBlocksPerTransaction || batchMessages >= MAX_MESSAGES_PER_TXN;
      // At the head, publish as soon as the next block is not already there (latency). While
      // backfilling, keep filling the transaction unless it has been open too long
      // (throughput: each Kafka transaction costs a few round-trips and markers).
      const idle = !fetcher.hasReady() && (!backfill || Date.now() - batchOpenedAt >= BACKFILL_MAX_BATCH_MS);
      if (full || idle) await flush();
    }
    await flush();
  } finally {
    fetcher.close();
    if (backfill) {
      d.metrics.backfillRemaining.set(0);
      progress?.finish();
    }
  }
  return committed;
}

async function commit(
  d: SessionDeps,
  publisher: Publisher,
  messages: TokenTransferTx[],
  recent: PublishedBlock[],
) {
  const checkpoint = makeCheckpoint(d.chainId, recent, d.fencingToken);
  try {
    await publisher.commit(messages, checkpoint, () => d.lease.assertHeld());
  } catch (err) {
    d.metrics.kafkaTransactions.inc({ result: "aborted" });
    d.metrics.blockFailures.inc({ stage: "publish" });
    throw err;
  }
  d.metrics.kafkaTransactions.inc({ result: "committed" });
  d.start.fromBlock = undefined;
  d.status.published = { number: checkpoint.blockNumber, hash: checkpoint.blockHash };
  d.metrics.publishedBlock.set(checkpoint.blockNumber);
}

/**
 * Our published tip is no longer canonical (or a fetched block did not link to it). Finds the
 * common ancestor; if published blocks were orphaned, announces each of their transactions
 * with `removed: true` and moves the checkpoint back to the ancestor, in one transaction.
 * Returns whether something was committed.
 */
async function resolveReorg(
  d: SessionDeps,
  publisher: Publisher,
  state: State,
  signal: AbortSignal,
): Promise<boolean> {
  if (state.recent.length === 0) return false;
  const { ancestor, orphaned } = await findCommonAncestor(state.recent, (n) => d.source.header(n, signal));
  if (orphaned.length === 0) {
    d.logger.debug({ msg: "Fetched block raced a reorg above the published tip; refetching" });
    return false;
  }
  const removed: TokenTransferTx[] = [];
  for (const b of [...orphaned].reverse()) {
    if (b.txCount === 0) continue;
    const msgs = await orphanedMessages(d, b, signal);
    if (!msgs) {
      d.metrics.orphansUnannounced.inc(b.txCount);
      d.logger.error({
        msg: "Orphaned block's messages unavailable; its transactions cannot be announced removed",
        block_number: b.number,
        block_hash: b.hash,
        tx_count: b.txCount,
      });
      continue;
    }
    removed.push(...msgs.map((m) => ({ ...m, removed: true as const })));
  }
  const recent = state.recent.slice(0, state.recent.indexOf(ancestor) + 1);
  d.metrics.reorgs.inc({ kind: "published" });
  d.logger.warn({
    msg: "Chain reorganisation below published blocks: announcing orphaned transactions removed",
    depth: orphaned.length,
    ancestor_number: ancestor.number,
    ancestor_hash: ancestor.hash,
    orphaned_from: orphaned[0]!.number,
    orphaned_to: orphaned[orphaned.length - 1]!.number,
    removed_txs: removed.length,
  });
  await commit(d, publisher, removed, recent);
  d.metrics.removedPublished.inc(removed.length);
  state.recent = recent;
  state.next = ancestor.number + 1;
  return true;
}

/** The messages first published for an orphaned block: the journal, else re-derived from the node. */
async function orphanedMessages(
  d: SessionDeps,
  b: PublishedBlock,
  signal: AbortSignal,
): Promise<TokenTransferTx[] | undefined> {
  try {
    const fromJournal = await d.journal.load(b.hash);
    if (fromJournal) return fromJournal;
  } catch (err) {
    d.logger.warn({ msg: "Journal read failed", block_hash: b.hash, err: String(err) });
  }
  try {
    const block = await d.source.fetchBlockByHash(b.hash, signal);
    if (!block || block.hash !== b.hash) return undefined;
    const { txs } = extractTokenTransferTxs(block, { chainId: d.chainId, observedAt: b.observedAt });
    return txs.length === b.txCount ? txs : undefined;
  } catch {
    return undefined;
  }
}
