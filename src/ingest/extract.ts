import type { TokenTransferTx, Transfer } from "../contracts/token-transfer-tx.js";
import { UpstreamError } from "../kernel/errors.js";
import type { FetchedBlock, LogRecord } from "./types.js";

/** keccak256("Transfer(address,address,uint256)"), shared by ERC-20 and ERC-721. */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

export type MalformedReason = "data_length" | "topic_count" | "address_topic" | "bad_hex";

/** A log with the Transfer topic0 that is neither a valid ERC-20 nor an ERC-721 transfer. */
export interface MalformedLog {
  txHash: string;
  logIndex: number;
  token: string;
  reason: MalformedReason;
  topicCount: number;
  dataBytes: number;
}

export type TransferLogKind =
  | { kind: "erc20"; transfer: Transfer }
  | { kind: "erc721" }
  | { kind: "malformed"; reason: MalformedReason }
  | { kind: "other" };

const HEX_WORD = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS_TOPIC = /^0x0{24}[0-9a-fA-F]{40}$/;
const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})*$/;

function dataBytes(data: string): number {
  return HEX_DATA.test(data) ? (data.length - 2) / 2 : -1;
}

/**
 * Classifies one log. An ERC-20 Transfer has exactly three topics (topic0, indexed from,
 * indexed to) and one 32-byte data word (the value); ERC-721 indexes the token id too (four
 * topics, no data). Anything else carrying the Transfer topic0 is malformed for our purpose.
 */
export function classifyLog(log: LogRecord): TransferLogKind {
  const topic0 = log.topics[0];
  if (topic0 === undefined || topic0.toLowerCase() !== TRANSFER_TOPIC) return { kind: "other" };
  const bytes = dataBytes(log.data);
  if (log.topics.length === 4 && bytes === 0) return { kind: "erc721" };
  if (log.topics.length !== 3) return { kind: "malformed", reason: "topic_count" };
  if (bytes < 0 || !HEX_WORD.test(log.topics[1]!) || !HEX_WORD.test(log.topics[2]!)) {
    return { kind: "malformed", reason: "bad_hex" };
  }
  if (bytes !== 32) return { kind: "malformed", reason: "data_length" };
  if (!ADDRESS_TOPIC.test(log.topics[1]!) || !ADDRESS_TOPIC.test(log.topics[2]!)) {
    return { kind: "malformed", reason: "address_topic" };
  }
  return {
    kind: "erc20",
    transfer: {
      logIndex: log.logIndex,
      token: log.address.toLowerCase(),
      from: `0x${log.topics[1]!.slice(26).toLowerCase()}`,
      to: `0x${log.topics[2]!.slice(26).toLowerCase()}`,
      // BigInt keeps the exact uint256; a JS number would round above 2^53.
      value: BigInt(log.data).toString(10),
    },
  };
}

export interface Extraction {
  /** One message per transaction with at least one ERC-20 transfer, in transaction order. */
  txs: TokenTransferTx[];
  malformed: MalformedLog[];
  /** ERC-721 Transfer logs seen (not ERC-20 transfers, ignored). */
  erc721Logs: number;
  transferCount: number;
}

/**
 * The pure heart of ingest: from a block and its receipts' logs to TokenTransferTx v1 messages.
 * Transfers are grouped per transaction and ordered by log index; `observedAt` is given by the
 * caller (the same for the whole block) so that the function is deterministic.
 *
 * Throws a retryable UpstreamError when a log names a transaction the block does not hold
 * (block and receipts from different forks): the caller refetches, it never skips.
 */
export function extractTokenTransferTxs(
  block: FetchedBlock,
  opts: { chainId: number; observedAt: number },
): Extraction {
  const byTx = new Map<string, Transfer[]>();
  const malformed: MalformedLog[] = [];
  let erc721Logs = 0;
  let transferCount = 0;
  for (const log of block.logs) {
    const c = classifyLog(log);
    if (c.kind === "other") continue;
    if (c.kind === "erc721") {
      erc721Logs += 1;
      continue;
    }
    const txHash = log.transactionHash.toLowerCase();
    if (c.kind === "malformed") {
      malformed.push({
        txHash,
        logIndex: log.logIndex,
        token: log.address.toLowerCase(),
        reason: c.reason,
        topicCount: log.topics.length,
        dataBytes: dataBytes(log.data),
      });
      continue;
    }
    let list = byTx.get(txHash);
    if (!list) byTx.set(txHash, (list = []));
    list.push(c.transfer);
    transferCount += 1;
  }

  const txs: TokenTransferTx[] = [];
  const known = new Set<string>();
  for (const tx of block.transactions) {
    const hash = tx.hash.toLowerCase();
    known.add(hash);
    const transfers = byTx.get(hash);
    if (!transfers) continue;
    transfers.sort((a, b) => a.logIndex - b.logIndex);
    txs.push({
      v: 1,
      chainId: opts.chainId,
      blockNumber: block.number,
      blockHash: block.hash.toLowerCase(),
      blockTimestamp: block.timestamp,
      txHash: hash,
      txIndex: tx.index,
      from: tx.from.toLowerCase(),
      to: tx.to === null ? null : tx.to.toLowerCase(),
      transfers,
      observedAt: opts.observedAt,
    });
  }
  for (const hash of byTx.keys()) {
    if (!known.has(hash)) {
      throw new UpstreamError(`Block ${block.number} has a log of transaction ${hash} it does not contain`, {
        code: "ATT_INGEST_INCONSISTENT_BLOCK",
        details: [`Block hash: ${block.hash}`, "Block and receipts probably come from different forks."],
      });
    }
  }
  txs.sort((a, b) => a.txIndex - b.txIndex);
  return { txs, malformed, erc721Logs, transferCount };
}
