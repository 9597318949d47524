import type { Redis } from "ioredis";
import { parseTokenTransferTx, type TokenTransferTx } from "../contracts/token-transfer-tx.js";

/**
 * The messages published for recent blocks, by block hash, so that a block orphaned by a deep
 * reorg can be announced `removed` with exactly the messages first published — also after a
 * restart or a fail-over to the standby (which never saw them). Entries are written before
 * the Kafka transaction commits; an entry of a block whose transaction then aborted is
 * harmless: only hashes in the committed checkpoint are ever looked up.
 */
export interface Journal {
  record(blocks: { hash: string; messages: TokenTransferTx[] }[]): Promise<void>;
  load(hash: string): Promise<TokenTransferTx[] | undefined>;
}

export function createRedisJournal(opts: {
  redis: Redis;
  prefix: string;
  chainId: number;
  ttlMs: number;
}): Journal {
  const key = (hash: string) => `${opts.prefix}:ingest:${opts.chainId}:journal:${hash}`;
  return {
    async record(blocks) {
      const withMessages = blocks.filter((b) => b.messages.length > 0);
      if (withMessages.length === 0) return;
      const pipeline = opts.redis.pipeline();
      for (const b of withMessages) pipeline.set(key(b.hash), JSON.stringify(b.messages), "PX", opts.ttlMs);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async load(hash) {
      const raw = await opts.redis.get(key(hash));
      if (raw === null) return undefined;
      return (JSON.parse(raw) as unknown[]).map((m) => parseTokenTransferTx(JSON.stringify(m)));
    },
  };
}
