import { UpstreamError } from "../../kernel/errors.js";
import { createRpcClient, resultOf } from "../../rpc/client.js";
import { badAnswer, isRecord } from "../../rpc/errors.js";
import { parseQuantity, toHex } from "../../rpc/hex.js";
import type { FirstTxProvider } from "../types.js";

const SEARCH_EXPECTED =
  "{txs: [{blockNumber: quantity, …}], receipts: [{timestamp?, …}] (as many as txs), firstPage: boolean, lastPage: boolean}; txs [] when the address has no transaction";
const blockExpected = (hex: string) => `a block {number: "${hex}", timestamp: quantity, …}`;

/**
 * First transaction of an address from the node's Otterscan API (Erigon, anvil):
 * `ots_searchTransactionsAfter(address, 0, 1)`. Its receipts carry the block `timestamp`
 * (Erigon: a number, anvil: a quantity); when a node leaves it out, the block is fetched for its
 * timestamp. Only `txs: []` in an answer of the documented shape means "no transaction"
 * (null): any other shape — `{weird: […]}`, txs that are not an array, a tx without its block
 * number — is a BadAnswerError (ATT_PROVIDER_BAD_ANSWER), retried and never cached (issue 13).
 */
export function createOtterscanFirstTx(opts: {
  url: string;
  timeoutMs: number;
  rateLimitPauseMs: number;
}): FirstTxProvider {
  const rpc = createRpcClient(opts.url, opts);
  // Each call goes as a batch of one, like rpc-tokens' calls: one answer shape to check (an array).
  const call = async (method: string, params: unknown[], signal?: AbortSignal) =>
    resultOf((await rpc.batch([{ method, params }], signal ? { signal } : {}))[0]!);
  const bad = (what: string, got: unknown, expected: string) =>
    badAnswer(what, { url: opts.url, got, expected });
  return {
    name: "otterscan",
    async fetch(address, signal) {
      const r = await call("ots_searchTransactionsAfter", [address, 0, 1], signal);
      const what = "ots_searchTransactionsAfter";
      if (
        !isRecord(r) ||
        !Array.isArray(r.txs) ||
        !Array.isArray(r.receipts) ||
        r.txs.length !== r.receipts.length ||
        typeof r.firstPage !== "boolean" ||
        typeof r.lastPage !== "boolean"
      )
        throw bad(what, r, SEARCH_EXPECTED);
      if (r.txs.length === 0) return null;
      // A page holds whole blocks and pageSize is 1: every tx here is in the first block.
      const tx: unknown = r.txs[0];
      const receipt: unknown = r.receipts[0];
      const blockNumber = isRecord(tx) ? parseQuantity(tx.blockNumber) : null;
      if (!isRecord(tx) || !isRecord(receipt) || blockNumber === null) throw bad(what, r, SEARCH_EXPECTED);
      const stamp = receipt.timestamp ?? tx.blockTimestamp;
      if (stamp !== undefined) {
        const seconds = timestamp(stamp);
        if (seconds === null) throw bad(what, r, `${SEARCH_EXPECTED}; timestamp a quantity or an integer`);
        return seconds;
      }
      const hex = toHex(blockNumber);
      const block = await call("eth_getBlockByNumber", [hex, false], signal);
      // null is the node's documented "no such block": contradicting its own search, so retry.
      if (block === null) throw new UpstreamError(`Block ${hex} of ${address}'s first transaction not found`);
      const seconds = isRecord(block) ? parseQuantity(block.timestamp) : null;
      if (!isRecord(block) || parseQuantity(block.number) !== blockNumber || seconds === null)
        throw bad("eth_getBlockByNumber", block, blockExpected(hex));
      return seconds;
    },
  };
}

/** Unix seconds from a quantity ("0x5f5e1000") or a JSON integer (Erigon's receipts); else null. */
function timestamp(v: unknown): number | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : null;
  return parseQuantity(v);
}
