import { ReorgTooDeepError } from "./errors.js";
import type { BlockHeader, PublishedBlock } from "./types.js";

export interface ReorgResolution {
  /** The newest published block still on the canonical chain. */
  ancestor: PublishedBlock;
  /** Published blocks no longer canonical, ascending. Empty: our tip is canonical (a fetch raced a reorg). */
  orphaned: PublishedBlock[];
}

/**
 * Walks the published blocks from the newest down, comparing each with the canonical header at
 * its height, until one matches: that is the common ancestor. Throws ReorgTooDeepError when
 * none of the remembered blocks is canonical any more.
 */
export async function findCommonAncestor(
  recent: PublishedBlock[],
  canonicalHeader: (n: number) => Promise<BlockHeader>,
): Promise<ReorgResolution> {
  for (let i = recent.length - 1; i >= 0; i--) {
    const b = recent[i]!;
    const h = await canonicalHeader(b.number);
    if (h.hash === b.hash) return { ancestor: b, orphaned: recent.slice(i + 1) };
  }
  const oldest = recent[0];
  throw new ReorgTooDeepError("The chain reorganised below every published block this ingester remembers", {
    details: [
      `Remembered blocks: ${recent.length}${oldest ? ` (from ${oldest.number})` : ""}`,
      "Fix: restart with --from-block <n> at a block before the fork (already published blocks after it are published again; a value equal to the last one applied is ignored), or raise ATT_INGEST_RECENT_BLOCKS.",
    ],
  });
}

/**
 * Watches the heads the node pushes for reorganisations above the published blocks (within
 * the confirmation depth): nothing to retract there, but they are logged and counted.
 */
export function createHeadObserver(capacity = 256) {
  const seen = new Map<number, string>();
  return {
    /** Returns the depth of the reorg this head reveals (0 = none). */
    observe(head: BlockHeader): number {
      let depth = 0;
      const prev = seen.get(head.number);
      const parent = seen.get(head.number - 1);
      if (prev !== undefined && prev !== head.hash) {
        // Same height, new hash: count how many of our remembered heights above are replaced too.
        depth = 1;
        for (let n = head.number + 1; seen.has(n); n++) depth += 1;
      } else if (parent !== undefined && parent !== head.parentHash) {
        depth = 1;
      }
      if (depth > 0) for (const n of [...seen.keys()]) if (n > head.number) seen.delete(n);
      seen.set(head.number, head.hash);
      if (seen.size > capacity) {
        const oldest = Math.min(...seen.keys());
        seen.delete(oldest);
      }
      return depth;
    },
  };
}
