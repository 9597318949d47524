import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import type { FeatureSpec } from "../../src/features/types.js";
import { SHARED_DATA } from "./services.js";

/** The 20 token symbols of the ATT bot's model (MODEL_FEATURES in its constants.py), in its order. */
export const ATT_SYMBOLS = [
  "APE",
  "CRV",
  "DAI",
  "GALA",
  "HEX",
  "KOK",
  "LINK",
  "LOOKS",
  "MANA",
  "MATIC",
  "SAITAMA",
  "SAND",
  "SHIB",
  "SOS",
  "STRNGR",
  "STRONG",
  "USDC",
  "USDT",
  "WBTC",
  "WETH",
];

/** The ATT bot's 45 model features, in its order. */
export const ATT_FEATURES = [
  ...ATT_SYMBOLS.flatMap((s) => [`${s}_transfers`, `${s}_value`]),
  "account_active_period_in_minutes",
  "max_single_token_transfers_count",
  "max_single_token_transfers_value",
  "tokens_type_counts",
  "transfer_counts",
];

/** The bot's feature spec: its 45 features, tokens matched by symbol (as it was trained). */
export const ATT_SPEC: FeatureSpec = {
  features: ATT_FEATURES,
  tokenMatch: "symbol",
  tokens: ATT_SYMBOLS.map((symbol) => ({ symbol })),
};

/** 14,323 real transfers of mainnet blocks 15,320,500-15,320,599 (../shared/data; may be absent). */
export const MAINNET_TRANSFERS_CSV = fileURLToPath(
  new URL("mainnet/token-transfers-15320500-15320599.csv", SHARED_DATA),
);

/**
 * The CSV's transfers as TokenTransferTx messages: grouped by transaction hash, in log order.
 * The CSV has no timestamps (12 s blocks from a fixed start stand in) and no transaction sender
 * (the first transfer's sender stands in). Columns: token_address, from_address, to_address,
 * value, transaction_hash, log_index, block_number.
 */
export function loadMainnetTransferTxs(path = MAINNET_TRANSFERS_CSV): TokenTransferTx[] {
  const [, ...lines] = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const byTx = new Map<string, string[][]>();
  for (const l of lines) {
    const c = l.split(",");
    const list = byTx.get(c[4]!);
    if (list) list.push(c);
    else byTx.set(c[4]!, [c]);
  }
  return [...byTx].map(([hash, rows], i): TokenTransferTx => {
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
}
