import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";

/**
 * Transaction-level features: computed from the TokenTransferTx message alone (issue 15), no
 * enrichment. Every one counts over ALL the message's transfers (every ERC-20 Transfer log of
 * the transaction, whatever the token and whether its metadata is known), so a model using only
 * these needs no token metadata and no first-transaction time. Values are counts: integers as
 * float64 numbers, like `transfer_counts`. docs/enrichment.md "Transaction-level features" is the
 * table.
 *
 * Addresses are compared as the message carries them: TokenTransferTx v1 has lower-case addresses
 * only (its parser refuses any other), so one address is one string, as for the token features'
 * metadata lookup. Lower-casing here would cost ~10× the features themselves (a toLowerCase per
 * comparison: 1.9 µs against 0.2 µs per mainnet transaction).
 */

/** The mint source: an ERC-20 mint is a Transfer from the zero address (EIP-20). */
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** The conventional burn sink besides the zero address (tokens sent here are unspendable). */
export const DEAD_ADDRESS = "0x000000000000000000000000000000000000dead";

type Transfers = TokenTransferTx["transfers"];

// One loop per feature, no shared callback: a helper taking a predicate goes megamorphic with
// ten predicates and costs more than the comparisons.
function distinctFrom(transfers: Transfers): number {
  if (transfers.length <= 1) return transfers.length;
  const seen = new Set<string>();
  for (const t of transfers) seen.add(t.from);
  return seen.size;
}

function distinctTo(transfers: Transfers): number {
  if (transfers.length <= 1) return transfers.length;
  const seen = new Set<string>();
  for (const t of transfers) seen.add(t.to);
  return seen.size;
}

function distinctToken(transfers: Transfers): number {
  if (transfers.length <= 1) return transfers.length;
  const seen = new Set<string>();
  for (const t of transfers) seen.add(t.token);
  return seen.size;
}

function maxPerToken(transfers: Transfers): number {
  if (transfers.length <= 1) return transfers.length;
  const counts = new Map<string, number>();
  let max = 0;
  for (const t of transfers) {
    const c = (counts.get(t.token) ?? 0) + 1;
    counts.set(t.token, c);
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
  n_distinct_senders: (tx) => distinctFrom(tx.transfers),
  /** Distinct `to` addresses of the transfers (the zero and dead addresses of burns included). */
  n_distinct_receivers: (tx) => distinctTo(tx.transfers),
  /** Distinct token contracts transferred (by address: no metadata, NFTs and non-tokens too). */
  n_distinct_tokens: (tx) => distinctToken(tx.transfers),
  /** The most transfers of any one token contract (by address). */
  max_transfers_per_token: (tx) => maxPerToken(tx.transfers),
  /** Transfers from the zero address. */
  n_mints: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.from === ZERO_ADDRESS) n += 1;
    return n;
  },
  /** Transfers to the zero address or to 0x…dEaD. */
  n_burns: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.to === ZERO_ADDRESS || t.to === DEAD_ADDRESS) n += 1;
    return n;
  },
  /** Transfers whose `from` equals their `to`. */
  n_self_transfers: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.from === t.to) n += 1;
    return n;
  },
  /** Transfers of value 0 (address-poisoning scams send these); v1 values have no leading zeros. */
  n_zero_value_transfers: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.value === "0") n += 1;
    return n;
  },
  /** Transfers whose `from` is the transaction's sender. */
  n_transfers_from_tx_sender: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.from === tx.from) n += 1;
    return n;
  },
  /** Transfers whose `to` is the transaction's sender (tokens coming back to the caller). */
  n_transfers_to_tx_sender: (tx) => {
    let n = 0;
    for (const t of tx.transfers) if (t.to === tx.from) n += 1;
    return n;
  },
};
