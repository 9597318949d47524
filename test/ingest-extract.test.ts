import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseTokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { classifyLog, extractTokenTransferTxs, TRANSFER_TOPIC } from "../src/ingest/extract.js";
import type { FetchedBlock, LogRecord } from "../src/ingest/types.js";
import { SHARED_DATA } from "./helpers/services.js";

const ETL_DIR = new URL("mainnet/etl-blocks-17173049-17173050/", SHARED_DATA);
const hasEtl = existsSync(ETL_DIR);
if (!hasEtl) console.warn(`Skipping the mainnet extraction test: ${ETL_DIR.pathname} is absent.`);

function jsonl(name: string): string[] {
  return readFileSync(new URL(name, ETL_DIR), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

const word = (hex: string) => `0x${hex.replace(/^0x/, "").padStart(64, "0")}`;
const addrTopic = (a: string) => word(a.slice(2));
const A = "0x00000000000000000000000000000000000000aa";
const B = "0x00000000000000000000000000000000000000bb";
const TOKEN = "0x00000000000000000000000000000000000000cc";

function block(logs: Partial<LogRecord>[], to: string | null = TOKEN): FetchedBlock {
  return {
    number: 7,
    hash: word("b7"),
    parentHash: word("b6"),
    timestamp: 1_700_000_000,
    transactions: [{ hash: word("01"), index: 0, from: A.toUpperCase().replace("0X", "0x"), to }],
    logs: logs.map((l, i) => ({
      address: TOKEN,
      topics: [TRANSFER_TOPIC, addrTopic(A), addrTopic(B)],
      data: word("01"),
      logIndex: i,
      transactionHash: word("01"),
      transactionIndex: 0,
      ...l,
    })),
  };
}

describe("extracting ERC-20 transfers from a block", () => {
  it("keeps the exact uint256 value, lower-cases addresses and sets to null for a contract creation", () => {
    const max = (1n << 256n) - 1n;
    const { txs } = extractTokenTransferTxs(block([{ data: `0x${max.toString(16)}` }], null), {
      chainId: 1,
      observedAt: 123,
    });
    expect(txs).toEqual([
      {
        v: 1,
        chainId: 1,
        blockNumber: 7,
        blockHash: word("b7"),
        blockTimestamp: 1_700_000_000,
        txHash: word("01"),
        txIndex: 0,
        from: A,
        to: null,
        transfers: [{ logIndex: 0, token: TOKEN, from: A, to: B, value: max.toString() }],
        observedAt: 123,
      },
    ]);
    expect(() => parseTokenTransferTx(JSON.stringify(txs[0]))).not.toThrow();
  });

  it("ignores ERC-721 transfers (four topics) and skips malformed Transfer logs with a reason", () => {
    const r = extractTokenTransferTxs(
      block([
        { topics: [TRANSFER_TOPIC, addrTopic(A), addrTopic(B), word("05")], data: "0x" },
        { data: `${word("01")}${"00".repeat(32)}` },
        { topics: [TRANSFER_TOPIC, addrTopic(A)] },
        { topics: [TRANSFER_TOPIC, word("ff".repeat(32)), addrTopic(B)] },
        { data: "0xzz" },
        { data: word("2a") },
      ]),
      { chainId: 1, observedAt: 1 },
    );
    expect(r.erc721Logs).toBe(1);
    expect(r.malformed.map((m) => [m.logIndex, m.reason])).toEqual([
      [1, "data_length"],
      [2, "topic_count"],
      [3, "address_topic"],
      [4, "bad_hex"],
    ]);
    expect(r.txs).toHaveLength(1);
    expect(r.txs[0]!.transfers).toEqual([{ logIndex: 5, token: TOKEN, from: A, to: B, value: "42" }]);
  });

  it("produces nothing for a transaction whose only Transfer logs are ERC-721", () => {
    const r = extractTokenTransferTxs(
      block([{ topics: [TRANSFER_TOPIC, addrTopic(A), addrTopic(B), word("05")], data: "0x" }]),
      { chainId: 1, observedAt: 1 },
    );
    expect(r.txs).toEqual([]);
  });

  it("refuses a log of a transaction the block does not hold instead of dropping it", () => {
    expect(() =>
      extractTokenTransferTxs(block([{ transactionHash: word("99") }]), { chainId: 1, observedAt: 1 }),
    ).toThrow(/does not contain/);
  });

  it("does not treat other events as transfers", () => {
    expect(classifyLog({ ...block([]).logs[0]!, topics: [word("12")], data: "0x" } as LogRecord)).toEqual({
      kind: "other",
    });
  });
});

describe.skipIf(!hasEtl)("extraction on real mainnet blocks 17173049-17173050", () => {
  interface EtlLog {
    log_index: number;
    transaction_hash: string;
    transaction_index: number;
    address: string;
    data: string;
    topics: string[];
    block_number: number;
  }

  function loadBlocks(): FetchedBlock[] {
    const logs = jsonl("logs.jsonl").map((l) => JSON.parse(l) as EtlLog);
    const txs = jsonl("transactions.jsonl").map(
      (l) =>
        JSON.parse(l) as {
          hash: string;
          transaction_index: number;
          from_address: string;
          to_address: string | null;
          block_number: number;
        },
    );
    return jsonl("blocks.jsonl").map((l) => {
      const b = JSON.parse(l) as { number: number; hash: string; parent_hash: string; timestamp: number };
      return {
        number: b.number,
        hash: b.hash,
        parentHash: b.parent_hash,
        timestamp: b.timestamp,
        transactions: txs
          .filter((t) => t.block_number === b.number)
          .map((t) => ({ hash: t.hash, index: t.transaction_index, from: t.from_address, to: t.to_address })),
        logs: logs
          .filter((g) => g.block_number === b.number)
          .map((g) => ({
            address: g.address,
            topics: g.topics,
            data: g.data,
            logIndex: g.log_index,
            transactionHash: g.transaction_hash,
            transactionIndex: g.transaction_index,
          })),
      };
    });
  }

  /** ethereum-etl's transfers, values read from the raw text (JSON.parse would round them). */
  function etlTransfers() {
    return jsonl("token_transfers.jsonl").map((line) => {
      const t = JSON.parse(line) as {
        token_address: string;
        from_address: string;
        to_address: string;
        transaction_hash: string;
        log_index: number;
      };
      const raw = /"value":\s*(\d+)/.exec(line);
      if (!raw) throw new Error(`no integer value in ${line.slice(0, 80)}`);
      return { ...t, value: raw[1]! };
    });
  }

  it("reproduces every three-topic transfer ethereum-etl extracted, values exact, and no four-topic one", () => {
    const blocks = loadBlocks();
    const topicsOf = new Map<string, number>();
    for (const b of blocks)
      for (const l of b.logs) topicsOf.set(`${l.transactionHash}:${l.logIndex}`, l.topics.length);

    const etl = etlTransfers();
    const threeTopic = etl.filter((t) => topicsOf.get(`${t.transaction_hash}:${t.log_index}`) === 3);
    const fourTopic = etl.filter((t) => topicsOf.get(`${t.transaction_hash}:${t.log_index}`) === 4);
    expect(threeTopic.length).toBeGreaterThan(250);
    expect(threeTopic.length + fourTopic.length).toBe(etl.length);

    const ours = blocks.flatMap((b) => extractTokenTransferTxs(b, { chainId: 1, observedAt: 0 }).txs);
    const flat = new Map<string, unknown>(
      ours.flatMap((tx) => tx.transfers.map((t) => [`${tx.txHash}:${t.logIndex}`, t] as const)),
    );
    const expected = new Map<string, unknown>(
      threeTopic.map((t) => [
        `${t.transaction_hash}:${t.log_index}`,
        {
          logIndex: t.log_index,
          token: t.token_address,
          from: t.from_address,
          to: t.to_address,
          value: t.value,
        },
      ]),
    );
    expect(new Set(flat.keys())).toEqual(new Set(expected.keys()));
    for (const [key, t] of expected) expect(flat.get(key), key).toEqual(t);
    for (const t of fourTopic) expect(flat.has(`${t.transaction_hash}:${t.log_index}`)).toBe(false);
    // Values beyond 2^53 survive exactly (a JS number would have rounded them).
    expect(
      [...flat.values()].some(
        (t) => BigInt((t as { value: string }).value) > BigInt(Number.MAX_SAFE_INTEGER),
      ),
    ).toBe(true);
  });

  it("groups the transfers per transaction with the transaction's sender, in block order, each a valid message", () => {
    const blocks = loadBlocks();
    const senders = new Map(blocks.flatMap((b) => b.transactions.map((t) => [t.hash, t.from] as const)));
    for (const b of blocks) {
      const { txs } = extractTokenTransferTxs(b, { chainId: 1, observedAt: 1_683_030_000_000 });
      expect(txs.map((t) => t.txIndex)).toEqual([...txs.map((t) => t.txIndex)].sort((x, y) => x - y));
      for (const tx of txs) {
        expect(parseTokenTransferTx(JSON.stringify(tx))).toEqual(tx);
        expect(tx.from).toBe(senders.get(tx.txHash));
        expect(tx.blockHash).toBe(b.hash);
        expect(tx.transfers.map((t) => t.logIndex)).toEqual(
          [...tx.transfers.map((t) => t.logIndex)].sort((x, y) => x - y),
        );
      }
    }
  });
});
