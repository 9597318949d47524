import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";

/**
 * Transaction-level features: computed from the TokenTransferTx message alone (issue 15), no
 * enrichment. Every one counts over ALL the message's transfers (every ERC-20 Transfer log of
 * the transaction, whatever the token and whether its metadata is known), so a model using only
 * these needs no token metadata and no first-transaction time. Values are counts: integers as
 * float64 numbers, like `transfer_counts`. Addresses are compared case-insensitively (a valid
 * message is lower-case already). docs/enrichment.md "Transaction-level features" is the table.
 */

/** The mint source: an ERC-20 mint is a Transfer from the zero address (EIP-20). */
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** The conventional burn sink besides the zero address (tokens sent here are unspendable). */
export const DEAD_ADDRESS = "0x000000000000000000000000000000000000dead";

type Transfers = TokenTransferTx["transfers"];
const lower = (a: string): string => a.toLowerCase();

function distinct(transfers: Transfers, of: (t: Transfers[number]) => string): number {
  if (transfers.length <= 1) return transfers.length;
  const seen = new Set<string>();
  for (const t of transfers) seen.add(lower(of(t)));
  return seen.size;
}

function count(transfers: Transfers, test: (t: Transfers[number]) => boolean): number {
  let n = 0;
  for (const t of transfers) if (test(t)) n += 1;
  return n;
}

function maxPerToken(transfers: Transfers): number {
  if (transfers.length <= 1) return transfers.length;
  const counts = new Map<string, number>();
  let max = 0;
  for (const t of transfers) {
    const key = lower(t.token);
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    if (c > max) max = c;
  }
  return max;
}

/**
 * The vocabulary's transaction-level features by name, each a function of the message. The
 * extractor calls only the ones a model card lists (src/features/spec.ts compiles the plan).
 */
export const TX_FEATURES: Readonly<Record<string, (tx: TokenTransferTx) => number>> = {
  /** Distinct `from` addresses of the transfers (the zero address of a mint included). */
  n_distinct_senders: (tx) => distinct(tx.transfers, (t) => t.from),
  /** Distinct `to` addresses of the transfers (the zero and dead addresses of burns included). */
  n_distinct_receivers: (tx) => distinct(tx.transfers, (t) => t.to),
  /** Distinct token contracts transferred (by address: no metadata, NFTs and non-tokens too). */
  n_distinct_tokens: (tx) => distinct(tx.transfers, (t) => t.token),
  /** The most transfers of any one token contract (by address). */
  max_transfers_per_token: (tx) => maxPerToken(tx.transfers),
  /** Transfers from the zero address. */
  n_mints: (tx) => count(tx.transfers, (t) => lower(t.from) === ZERO_ADDRESS),
  /** Transfers to the zero address or to 0x…dEaD. */
  n_burns: (tx) =>
    count(tx.transfers, (t) => {
      const to = lower(t.to);
      return to === ZERO_ADDRESS || to === DEAD_ADDRESS;
    }),
  /** Transfers whose `from` equals their `to`. */
  n_self_transfers: (tx) => count(tx.transfers, (t) => lower(t.from) === lower(t.to)),
  /** Transfers of value 0 (address-poisoning scams send these). */
  n_zero_value_transfers: (tx) => count(tx.transfers, (t) => t.value === "0"),
  /** Transfers whose `from` is the transaction's sender. */
  n_transfers_from_tx_sender: (tx) => {
    const sender = lower(tx.from);
    return count(tx.transfers, (t) => lower(t.from) === sender);
  },
  /** Transfers whose `to` is the transaction's sender (tokens coming back to the caller). */
  n_transfers_to_tx_sender: (tx) => {
    const sender = lower(tx.from);
    return count(tx.transfers, (t) => lower(t.to) === sender);
  },
};
