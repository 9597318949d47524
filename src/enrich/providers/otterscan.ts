import { UpstreamError } from "../../kernel/errors.js";
import { rpcCall, type JsonRpcOptions } from "../json-rpc.js";
import type { FirstTxProvider } from "../types.js";

interface SearchResult {
  txs?: { blockNumber?: string; blockTimestamp?: string }[];
  receipts?: { timestamp?: string | number }[];
}

/**
 * First transaction of an address from the node's Otterscan API (Erigon, anvil):
 * `ots_searchTransactionsAfter(address, 0, 1)`. Its receipts carry the block `timestamp`
 * (Erigon, anvil); when a node leaves it out, the block is fetched for its timestamp.
 */
export function createOtterscanFirstTx(opts: JsonRpcOptions): FirstTxProvider {
  return {
    name: "otterscan",
    async fetch(address, signal) {
      const r = (await rpcCall(
        opts,
        { method: "ots_searchTransactionsAfter", params: [address, 0, 1] },
        signal,
      )) as SearchResult;
      const tx = r?.txs?.[0];
      if (!tx) return null;
      const fromReceipt = r.receipts?.[0]?.timestamp ?? tx.blockTimestamp;
      if (fromReceipt !== undefined) return toSeconds(fromReceipt);
      const block = (await rpcCall(
        opts,
        { method: "eth_getBlockByNumber", params: [tx.blockNumber, false] },
        signal,
      )) as { timestamp?: string } | null;
      if (!block?.timestamp)
        throw new UpstreamError(`Block ${tx.blockNumber} of ${address}'s first transaction not found`);
      return toSeconds(block.timestamp);
    },
  };
}

function toSeconds(v: string | number): number {
  const n = typeof v === "number" ? v : Number(BigInt(v));
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UpstreamError(`Invalid block timestamp ${String(v)}`, { code: "ATT_RPC_BAD_ANSWER" });
  return n;
}
