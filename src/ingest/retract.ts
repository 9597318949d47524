import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { extractTokenTransferTxs } from "./extract.js";
import type { Publisher } from "./publisher.js";
import { findCommonAncestor } from "./reorg.js";
import { commit, type SessionDeps, type State } from "./session-context.js";
import type { PublishedBlock } from "./types.js";

/**
 * Our published tip is no longer canonical (or a fetched block did not link to it). Finds the
 * common ancestor; if published blocks were orphaned, announces each of their transactions
 * with `removed: true` and moves the checkpoint back to the ancestor, in one transaction.
 * Returns whether something was committed.
 */
export async function resolveReorg(
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
  await commit(d, publisher, state, removed, recent);
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
