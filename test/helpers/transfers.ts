import type { Redis } from "ioredis";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { cacheKey, encodeValue } from "../../src/enrich/keys.js";
import type { TokenMeta } from "../../src/features/types.js";

/** Tokens of the ATT model (matched by symbol) at made-up addresses, with their real decimals. */
export const TEST_TOKENS: TokenMeta[] = [
  { symbol: "USDC", decimals: 6 },
  { symbol: "USDT", decimals: 6 },
  { symbol: "WETH", decimals: 18 },
  { symbol: "DAI", decimals: 18 },
  { symbol: "WBTC", decimals: 8 },
  { symbol: "LINK", decimals: 18 },
  { symbol: "NOTINMODEL", decimals: 18 },
].map((t, i) => ({
  address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
  kind: "erc20" as const,
  symbol: t.symbol,
  name: `${t.symbol} token`,
  decimals: t.decimals,
}));

/** TEST_TOKENS as the Ethplorer/Etherscan stand-in serves them (test/fixtures/api-standin). */
export const STANDIN_TEST_TOKENS = TEST_TOKENS.map((t) => ({
  address: t.address,
  name: t.name,
  symbol: t.symbol,
  decimals: t.decimals,
}));

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

export function senderAddress(i: number): string {
  return `0x${(0xa0000000 + i).toString(16).padStart(40, "0")}`;
}

/**
 * Deterministic TokenTransferTx messages: `senders` accounts sending 1–4 transfers of the
 * test tokens. Transaction hashes encode (seed, index) so runs never collide.
 */
export function syntheticTxs(
  n: number,
  opts: { seed?: number; senders?: number; chainId?: number; startBlock?: number } = {},
): TokenTransferTx[] {
  const r = rng(opts.seed ?? 1);
  const senders = opts.senders ?? 200;
  const out: TokenTransferTx[] = [];
  const seedTag = (opts.seed ?? 1) & 0xffff;
  for (let i = 0; i < n; i++) {
    const from = senderAddress(Math.floor(r() * senders));
    const blockNumber = (opts.startBlock ?? 1_000_000) + Math.floor(i / 50);
    const k = 1 + Math.floor(r() * 4);
    const transfers = Array.from({ length: k }, (_, j) => {
      const token = TEST_TOKENS[Math.floor(r() * TEST_TOKENS.length)]!;
      const whole = BigInt(Math.floor(r() * 5000) + 1);
      return {
        logIndex: j,
        token: token.address,
        from,
        to: hex(0xb000 + j, 20),
        value: (whole * 10n ** BigInt(token.decimals!)).toString(),
      };
    });
    out.push({
      v: 1,
      chainId: opts.chainId ?? 1,
      blockNumber,
      blockHash: hex(blockNumber, 32),
      blockTimestamp: 1_700_000_000 + blockNumber * 12,
      txHash: `0x${seedTag.toString(16).padStart(4, "0")}${i.toString(16).padStart(60, "0")}`,
      txIndex: i % 50,
      from,
      to: hex(0xc0ffee, 20),
      transfers,
      observedAt: Date.now(),
    });
  }
  return out;
}

/**
 * Fills the shared Redis enrichment cache (what earlier lookups would have left there): token
 * metadata of TEST_TOKENS and a first-transaction time for every sender of `txs`.
 */
export async function seedEnrichmentCache(
  redis: Redis,
  prefix: string,
  txs: TokenTransferTx[],
  chainId = 1,
): Promise<void> {
  const pipe = redis.pipeline();
  for (const t of TEST_TOKENS)
    pipe.set(cacheKey(prefix, "token", chainId, t.address), encodeValue("token", t));
  for (const from of new Set(txs.map((t) => t.from))) {
    pipe.set(cacheKey(prefix, "firsttx", chainId, from), encodeValue("firsttx", 1_600_000_000));
  }
  await pipe.exec();
}

/**
 * One transaction from `from` with a transfer of 1 unit of each of `tokens` (to itself): what
 * enrichment needs to look up (every token's metadata and the sender's first transaction).
 */
export function txWithTokens(from: string, tokens: string[]): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 1,
    blockHash: `0x${"11".repeat(32)}`,
    blockTimestamp: 1_700_000_000,
    txHash: `0x${"22".repeat(32)}`,
    txIndex: 0,
    from,
    to: null,
    transfers: tokens.map((token, logIndex) => ({ logIndex, token, from, to: from, value: "1" })),
    observedAt: 0,
  };
}

export function toKafkaMessages(txs: TokenTransferTx[]) {
  return txs.map((tx) => ({ key: tx.from, value: JSON.stringify(tx) }));
}
