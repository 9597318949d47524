import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { syntheticTxs, TEST_TOKENS } from "../../test/helpers/transfers.js";
import type { StandinToken } from "../../test/fixtures/api-standin/server.js";

export const MAINNET_CSV = fileURLToPath(
  new URL("../../../shared/data/mainnet/token-transfers-15320500-15320599.csv", import.meta.url),
);
const TOKEN_LIST = new URL("../../test/fixtures/token-list-mainnet.json", import.meta.url);

export interface Traffic {
  source: string;
  txs: TokenTransferTx[];
  /** What the Ethplorer stand-in knows (any other address is "not a token contract"). */
  tokens: StandinToken[];
}

/**
 * Transactions of the 14,323 mainnet transfers of blocks 15,320,500-15,320,599 (grouped by
 * transaction hash, in log order; the sender is the first transfer's `from`, as the CSV has no
 * transaction sender), or synthetic traffic when ../shared/data is absent.
 */
export function loadTraffic(syntheticCount = 9000): Traffic {
  if (!existsSync(MAINNET_CSV)) {
    return {
      source: `synthetic (${MAINNET_CSV} not found)`,
      txs: syntheticTxs(syntheticCount, { seed: 4242, senders: Math.round(syntheticCount / 2) }),
      tokens: TEST_TOKENS.map((t) => ({
        address: t.address,
        name: t.name,
        symbol: t.symbol,
        decimals: t.decimals,
      })),
    };
  }
  const [, ...lines] = readFileSync(MAINNET_CSV, "utf8").trim().split(/\r?\n/);
  const byTx = new Map<string, string[][]>();
  for (const l of lines) {
    const c = l.split(",");
    const list = byTx.get(c[4]!);
    if (list) list.push(c);
    else byTx.set(c[4]!, [c]);
  }
  const txs = [...byTx].map(([hash, rows], i): TokenTransferTx => {
    rows.sort((a, b) => Number(a[5]) - Number(b[5]));
    const block = Number(rows[0]![6]);
    return {
      v: 1,
      chainId: 1,
      blockNumber: block,
      blockHash: `0x${block.toString(16).padStart(64, "0")}`,
      blockTimestamp: 1_660_456_000 + (block - 15_320_500) * 12,
      txHash: hash,
      txIndex: i,
      from: rows[0]![1]!,
      to: null,
      transfers: rows.map((r) => ({
        logIndex: Number(r[5]),
        token: r[0]!,
        from: r[1]!,
        to: r[2]!,
        value: r[3]!,
      })),
      observedAt: 0,
    };
  });
  const list = (JSON.parse(readFileSync(TOKEN_LIST, "utf8")) as { tokens: StandinToken[] }).tokens;
  return {
    source: "mainnet blocks 15,320,500-15,320,599 (../shared/data)",
    txs,
    tokens: list.filter((t) => t.decimals !== null),
  };
}
