import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { createOrderedFetcher } from "./backfill.js";
import { extractTokenTransferTxs } from "./extract.js";
import { createProgress } from "./progress.js";
import type { Publisher } from "./publisher.js";
import { resolveReorg } from "./retract.js";
import { commit, type SessionDeps, type State } from "./session-context.js";
import type { FetchedBlock, PublishedBlock } from "./types.js";

/** Kafka messages per transaction at most (a broker refuses record batches above ~1 MB). */
const MAX_MESSAGES_PER_TXN = 2_000;
/** A catch-up of at least this many blocks shows progress and counts as backfill. */
const BACKFILL_MIN_BLOCKS = 10;
/** While backfilling, a Kafka transaction waits at most this long for more fetched blocks. */
const BACKFILL_MAX_BATCH_MS = 500;

/** Publishes blocks state.next..target in order. Returns whether anything was committed. */
export async function catchUp(
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
    await commit(d, publisher, state, messages, recent);
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
