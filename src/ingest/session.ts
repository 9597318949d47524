import { errorCode, isRetryable } from "../kernel/errors.js";
import { sleep } from "../kernel/shutdown.js";
import { catchUp } from "./catch-up.js";
import { readCheckpoint, toPublishedBlocks, type Checkpoint } from "./checkpoint.js";
import { LeaseLostError } from "./errors.js";
import { openPublisher, PublishError, type Publisher } from "./publisher.js";
import { resolveReorg } from "./retract.js";
import { backoffDelay } from "../kernel/retry.js";
import type { SessionDeps, State } from "./session-context.js";

export type { SessionDeps, SessionStatus } from "./session-context.js";

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

/**
 * Where this session starts. A from-block request (`ATT_INGEST_FROM_BLOCK`, `--from-block`) is
 * one-shot: it is honoured unless the checkpoint records that the same value was already
 * applied, in which case the session resumes after the checkpoint like any other. Because the
 * record lives in the checkpoint (committed with the blocks), this holds for a supervisor's
 * restart, a retried session and a standby that takes over with the same environment; until
 * the first commit nothing is recorded, so a start that published nothing is simply repeated.
 */
async function loadState(d: SessionDeps): Promise<State> {
  const requested = d.options.fromBlock;
  const cp = await readCheckpointFor(d, requested);
  if (cp && cp.fencingToken > d.fencingToken) {
    // Either a newer holder wrote it (we must step down) or Redis lost the counter; raising the
    // counter makes the next acquisition (ours or the standby's) outrank every checkpoint.
    await d.lease.raiseFence(cp.fencingToken).catch(() => undefined);
    throw new LeaseLostError("A newer ingester (higher fencing token) has written the checkpoint", {
      details: [`Checkpoint token: ${cp.fencingToken}`, `Ours: ${d.fencingToken}`],
    });
  }
  if (requested !== undefined) {
    if (cp?.fromBlock?.block === requested) {
      d.logger.info({
        msg: "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
        from_block: requested,
        applied_at: new Date(cp.fromBlock.appliedAt).toISOString(),
        block_number: cp.blockNumber,
        block_hash: cp.blockHash,
      });
      return resume(d, cp);
    }
    d.logger.info({
      msg: "Starting from ATT_INGEST_FROM_BLOCK",
      from_block: requested,
      checkpoint_block: cp?.blockNumber ?? null,
      previous_from_block: cp?.fromBlock?.block ?? null,
    });
    return { next: requested, recent: [], fromBlock: { block: requested, appliedAt: undefined } };
  }
  if (!cp) {
    d.logger.info({ msg: "No checkpoint, starting at the confirmed head" });
    return { next: undefined, recent: [], fromBlock: undefined };
  }
  d.logger.info({
    msg: "Resuming after the checkpoint",
    block_number: cp.blockNumber,
    block_hash: cp.blockHash,
  });
  return resume(d, cp);
}

/**
 * The committed checkpoint. An invalid one is fatal, except when a from-block is requested:
 * that is the documented way out (the first commit replaces the record), and whether the
 * request was applied before cannot be known from an unreadable record.
 */
async function readCheckpointFor(d: SessionDeps, requested: number | undefined) {
  try {
    return await readCheckpoint(d.kafka, {
      topic: d.options.topicCheckpoint,
      chainId: d.chainId,
      timeoutMs: 30_000,
      logger: d.logger,
    });
  } catch (err) {
    if (requested === undefined || errorCode(err) !== "ATT_INGEST_CHECKPOINT_INVALID") throw err;
    d.logger.warn({
      msg: "The checkpoint is invalid; starting from ATT_INGEST_FROM_BLOCK, which replaces it",
      from_block: requested,
      err: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  }
}

function resume(d: SessionDeps, cp: Checkpoint): State {
  d.status.published = { number: cp.blockNumber, hash: cp.blockHash };
  d.metrics.publishedBlock.set(cp.blockNumber);
  return { next: cp.blockNumber + 1, recent: toPublishedBlocks(cp), fromBlock: cp.fromBlock };
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
      d.observeHead?.(head);
      d.status.head = head.number;
      d.metrics.headBlock.set(head.number);
      const target = head.number - d.confirmations;
      if (state.next === undefined) state.next = Math.max(0, target);
      if (state.recent.length === 0 && state.next > 0 && target >= state.next) {
        // Anchor: the parent of the first block we publish. Not published itself (0 messages),
        // it lets a reorg of that first block be resolved like any other. Fetched once that
        // block is due: a from-block above the head waits for it without fetch errors.
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
