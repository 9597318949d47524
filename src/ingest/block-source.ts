import { errorCode, UpstreamError } from "../kernel/errors.js";
import type { Logger } from "../kernel/logger.js";
import { withRetry } from "../kernel/retry.js";
import type { RpcClient } from "../rpc/client.js";
import { RpcMethodUnsupportedError } from "../rpc/errors.js";
import { toHex as hex } from "../rpc/hex.js";
import type { BlockHeader, BlockTransaction, FetchedBlock, LogRecord } from "./types.js";

/** Reads blocks and receipts from the node, normalized and checked for consistency. */
export interface BlockSource {
  latestHeader(signal?: AbortSignal): Promise<BlockHeader>;
  /** The canonical header at `number` (as the node sees it now). */
  header(number: number, signal?: AbortSignal): Promise<BlockHeader>;
  /** The canonical block at `number` with its transactions and all receipt logs. */
  fetchBlock(number: number, signal?: AbortSignal): Promise<FetchedBlock>;
  /** A block by hash, orphaned ones included if the node still has them; undefined if unknown. */
  fetchBlockByHash(hash: string, signal?: AbortSignal): Promise<FetchedBlock | undefined>;
  /** False once the node answered that it lacks eth_getBlockReceipts (per-transaction fallback in use). */
  readonly blockReceiptsSupported: boolean;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: (string | { hash: string; transactionIndex: string; from: string; to: string | null })[];
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
  transactionIndex: string;
}

interface RpcReceipt {
  transactionHash: string;
  blockHash: string;
  logs: RpcLog[];
}

function toHeader(b: RpcBlock): BlockHeader {
  return {
    number: Number(b.number),
    hash: b.hash.toLowerCase(),
    parentHash: b.parentHash.toLowerCase(),
    timestamp: Number(b.timestamp),
  };
}

function toTransactions(b: RpcBlock): BlockTransaction[] {
  return b.transactions.map((t) => {
    if (typeof t === "string") throw new Error("block fetched without full transactions");
    return {
      hash: t.hash.toLowerCase(),
      index: Number(t.transactionIndex),
      from: t.from.toLowerCase(),
      to: t.to ? t.to.toLowerCase() : null,
    };
  });
}

/** A receipt's log as the extractor reads it: addresses and hashes lower-case, indexes as numbers. */
export function toLogRecord(l: RpcLog): LogRecord {
  return {
    address: l.address.toLowerCase(),
    topics: l.topics,
    data: l.data,
    logIndex: Number(l.logIndex),
    transactionHash: l.transactionHash.toLowerCase(),
    transactionIndex: Number(l.transactionIndex),
  };
}

function toLogs(receipts: RpcReceipt[]): LogRecord[] {
  return receipts.flatMap((r) => r.logs.map(toLogRecord));
}

function inconsistent(what: string, block: BlockHeader): UpstreamError {
  return new UpstreamError(`Receipts of block ${block.number} do not match it: ${what}`, {
    code: "ATT_INGEST_INCONSISTENT_BLOCK",
    details: [`Block hash: ${block.hash}`, "The chain probably reorganised between the two requests."],
  });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function createBlockSource(opts: {
  rpc: RpcClient;
  receiptConcurrency: number;
  retries: number;
  retryBaseMs?: number;
  retryMaxMs: number;
  logger: Logger;
  /** Counts every failed request attempt (metrics: RPC errors by method). */
  onRpcError?: (method: string, code: string) => void;
}): BlockSource {
  let blockReceipts = true;

  const call = <T>(method: string, params: unknown[], signal?: AbortSignal): Promise<T> =>
    withRetry(
      async () => {
        try {
          return await opts.rpc.call<T>(method, params, signal ? { signal } : {});
        } catch (err) {
          if (!signal?.aborted) opts.onRpcError?.(method, errorCode(err));
          throw err;
        }
      },
      {
        retries: opts.retries,
        baseMs: opts.retryBaseMs ?? 200,
        maxMs: opts.retryMaxMs,
        ...(signal ? { signal } : {}),
        onRetry: (err, attempt, delay) =>
          opts.logger.warn({
            msg: "JSON-RPC request failed, retrying",
            method,
            retry_count: attempt,
            retry_delay: delay,
            err: err instanceof Error ? err.message : String(err),
          }),
      },
    );

  const mustBlock = (b: RpcBlock | null, what: string): RpcBlock => {
    if (!b) {
      throw new UpstreamError(`Block ${what} is not available on the node yet`, {
        code: "ATT_INGEST_BLOCK_NOT_FOUND",
      });
    }
    return b;
  };

  const receiptsOneByOne = async (block: BlockHeader, txs: BlockTransaction[], signal?: AbortSignal) =>
    mapLimit(txs, opts.receiptConcurrency, async (tx) => {
      const r = await call<RpcReceipt | null>("eth_getTransactionReceipt", [tx.hash], signal);
      if (!r) throw inconsistent(`no receipt for ${tx.hash}`, block);
      return r;
    });

  const assemble = async (
    raw: RpcBlock,
    receiptsPromise: Promise<RpcReceipt[] | null> | undefined,
    signal?: AbortSignal,
  ): Promise<FetchedBlock> => {
    const header = toHeader(raw);
    const transactions = toTransactions(raw);
    let receipts: RpcReceipt[] | null = null;
    if (receiptsPromise) {
      try {
        receipts = await receiptsPromise;
      } catch (err) {
        if (!(err instanceof RpcMethodUnsupportedError)) throw err;
        blockReceipts = false;
        opts.logger.warn({
          msg: "Node lacks eth_getBlockReceipts, fetching receipts per transaction",
          concurrency: opts.receiptConcurrency,
        });
      }
    }
    if (receipts === null) {
      if (blockReceipts) throw inconsistent("eth_getBlockReceipts returned null", header);
      receipts = await receiptsOneByOne(header, transactions, signal);
    }
    if (receipts.length !== transactions.length) {
      throw inconsistent(`${receipts.length} receipts for ${transactions.length} transactions`, header);
    }
    receipts.forEach((r, i) => {
      if (r.blockHash.toLowerCase() !== header.hash)
        throw inconsistent(`receipt ${i} is from another block`, header);
      if (r.transactionHash.toLowerCase() !== transactions[i]!.hash) {
        throw inconsistent(`receipt ${i} is for another transaction`, header);
      }
    });
    return { ...header, transactions, logs: toLogs(receipts) };
  };

  return {
    get blockReceiptsSupported() {
      return blockReceipts;
    },
    async latestHeader(signal) {
      return toHeader(
        mustBlock(await call<RpcBlock | null>("eth_getBlockByNumber", ["latest", false], signal), "latest"),
      );
    },
    async header(number, signal) {
      return toHeader(
        mustBlock(
          await call<RpcBlock | null>("eth_getBlockByNumber", [hex(number), false], signal),
          String(number),
        ),
      );
    },
    async fetchBlock(number, signal) {
      // Block and receipts are asked for in parallel; the receipts' blockHash check below
      // catches the rare case of the two answers coming from different forks.
      const receipts = blockReceipts
        ? call<RpcReceipt[] | null>("eth_getBlockReceipts", [hex(number)], signal)
        : undefined;
      receipts?.catch(() => undefined); // awaited in assemble; avoid an unhandled rejection meanwhile
      const raw = mustBlock(
        await call<RpcBlock | null>("eth_getBlockByNumber", [hex(number), true], signal),
        String(number),
      );
      return assemble(raw, receipts, signal);
    },
    async fetchBlockByHash(hash, signal) {
      const raw = await call<RpcBlock | null>("eth_getBlockByHash", [hash, true], signal);
      if (!raw) return undefined;
      const receipts = blockReceipts
        ? call<RpcReceipt[] | null>("eth_getBlockReceipts", [hash], signal)
        : undefined;
      return assemble(raw, receipts, signal);
    },
  };
}
