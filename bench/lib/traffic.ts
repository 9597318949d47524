import { existsSync, readFileSync } from "node:fs";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { loadMainnetTransferTxs, MAINNET_TRANSFERS_CSV } from "../../test/helpers/mainnet.js";
import { STANDIN_TEST_TOKENS, syntheticTxs } from "../../test/helpers/transfers.js";
import type { StandinToken } from "../../test/fixtures/api-standin/server.js";

export const MAINNET_CSV = MAINNET_TRANSFERS_CSV;
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
      tokens: STANDIN_TEST_TOKENS,
    };
  }
  const txs = loadMainnetTransferTxs(MAINNET_CSV);
  const list = (JSON.parse(readFileSync(TOKEN_LIST, "utf8")) as { tokens: StandinToken[] }).tokens;
  return {
    source: "mainnet blocks 15,320,500-15,320,599 (../shared/data)",
    txs,
    tokens: list.filter((t) => t.decimals !== null),
  };
}
