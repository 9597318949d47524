import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { isTokenTransferTx, parseTokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { computeFeatures } from "../src/features/compute.js";
import { DEAD_ADDRESS, TX_FEATURES, ZERO_ADDRESS } from "../src/features/transaction.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";

// Hand-built TokenTransferTx messages; every expected count below was worked out by hand.
const SENDER = "0x8032eaede5c55f744387ca53aaf0499abcd783e5";
const POOL = "0x37a48e35d0e98c3bacfeb025bd76b173eb736257";
const VICTIM = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2";
const NFT = "0xaa462106da447c0440a4be29614c19387a59a331";

type T = [token: string, from: string, to: string, value: string];
function message(transfers: T[], from = SENDER): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 15_320_500,
    blockHash: `0x${"ab".repeat(32)}`,
    blockTimestamp: 1_660_000_000,
    txHash: `0x${"cd".repeat(32)}`,
    txIndex: 0,
    from,
    to: POOL,
    transfers: transfers.map(([token, f, to, value], i) => ({ logIndex: i, token, from: f, to, value })),
    observedAt: 0,
  };
}

const TX_NAMES = Object.keys(TX_FEATURES);
/** A card of every transaction-level feature, in the vocabulary's order. */
const ALL_TX: FeatureSpec = { features: TX_NAMES, tokenMatch: "symbol", tokens: [] };
/** No token metadata at all: transaction-level features must not need any. */
const NO_ENRICHMENT = { tokens: new Map<string, TokenMeta>(), firstTxTimestamp: null };

function features(tx: TokenTransferTx, spec: FeatureSpec = ALL_TX): Record<string, number> {
  const r = computeFeatures(tx, NO_ENRICHMENT, spec);
  if (!r.ok) throw new Error(`expected features, got ${r.code}: ${r.reason}`);
  expect(Array.from(r.values)).toEqual(spec.features.map((f) => r.named[f]));
  return r.named;
}

describe("transaction-level features, from the message alone", () => {
  it("the message builder makes valid TokenTransferTx messages (lower-case addresses)", () => {
    expect(isTokenTransferTx(message([[USDC, SENDER, POOL, "1"]]))).toBe(true);
  });

  it("a swap: the sender pays USDC into a pool and gets WETH back", () => {
    expect(
      features(
        message([
          [USDC, SENDER, POOL, "1000000"],
          [WETH, POOL, SENDER, "500000000000000"],
        ]),
      ),
    ).toEqual({
      n_distinct_senders: 2,
      n_distinct_receivers: 2,
      n_distinct_tokens: 2,
      max_transfers_per_token: 1,
      n_mints: 0,
      n_burns: 0,
      n_self_transfers: 0,
      n_zero_value_transfers: 0,
      n_transfers_from_tx_sender: 1,
      n_transfers_to_tx_sender: 1,
    });
  });

  it("a transaction of mints only: every transfer from the zero address", () => {
    expect(
      features(
        message([
          [NFT, ZERO_ADDRESS, SENDER, "1"],
          [NFT, ZERO_ADDRESS, SENDER, "2"],
          [USDC, ZERO_ADDRESS, VICTIM, "5"],
        ]),
      ),
    ).toMatchObject({
      n_mints: 3,
      n_burns: 0,
      n_distinct_senders: 1, // the zero address is one sender
      n_distinct_receivers: 2,
      n_distinct_tokens: 2,
      max_transfers_per_token: 2,
      n_transfers_from_tx_sender: 0,
      n_transfers_to_tx_sender: 2,
    });
  });

  it("counts burns to the zero address and to 0x…dEaD, and nothing else as a burn", () => {
    const named = features(
      message([
        [USDC, SENDER, ZERO_ADDRESS, "1"],
        [USDC, SENDER, DEAD_ADDRESS, "1"],
        [USDC, SENDER, "0xdead000000000000000042069420694206942069", "1"], // a vanity sink: not a burn
        [WETH, SENDER, POOL, "1"],
      ]),
    );
    expect(named.n_burns).toBe(2);
    expect(named.n_mints).toBe(0);
    expect(named.n_distinct_receivers).toBe(4);
    expect(named.max_transfers_per_token).toBe(3);
    expect(named.n_transfers_from_tx_sender).toBe(4);
  });

  it("a zero-to-zero transfer is a mint, a burn and a self-transfer at once", () => {
    expect(features(message([[USDC, ZERO_ADDRESS, ZERO_ADDRESS, "0"]]))).toMatchObject({
      n_mints: 1,
      n_burns: 1,
      n_self_transfers: 1,
      n_zero_value_transfers: 1,
      n_distinct_senders: 1,
      n_distinct_receivers: 1,
    });
  });

  it("counts self-transfers (from == to) and zero-value transfers (address poisoning)", () => {
    const named = features(
      message([
        [USDC, SENDER, SENDER, "7"],
        [USDC, VICTIM, VICTIM, "0"],
        [USDC, VICTIM, POOL, "0"],
        [WETH, POOL, VICTIM, "10"],
      ]),
    );
    expect(named.n_self_transfers).toBe(2);
    expect(named.n_zero_value_transfers).toBe(2);
    expect(named.n_transfers_from_tx_sender).toBe(1);
    expect(named.n_transfers_to_tx_sender).toBe(1);
    expect(named.n_distinct_senders).toBe(3);
    expect(named.n_distinct_receivers).toBe(3);
  });

  it("counts a repeated address once, and never sees one address in two cases (the parser refuses upper case)", () => {
    const named = features(
      message([
        [USDC, SENDER, POOL, "1"],
        [USDC, SENDER, POOL, "2"],
        [WETH, POOL, SENDER, "3"],
        [USDC, SENDER, POOL, "4"],
      ]),
    );
    expect(named).toMatchObject({
      n_distinct_senders: 2,
      n_distinct_receivers: 2,
      n_distinct_tokens: 2,
      max_transfers_per_token: 3,
    });
    // Addresses are compared as carried (lower-casing would cost ~10x the features): TokenTransferTx
    // v1 is lower-case only, and a message with an upper-case copy of an address is dead-lettered
    // before any feature is computed.
    const mixed = message([
      [USDC, SENDER, POOL, "1"],
      [USDC, `0x${SENDER.slice(2).toUpperCase()}`, POOL, "1"],
    ]);
    expect(isTokenTransferTx(mixed)).toBe(false);
    expect(() => parseTokenTransferTx(JSON.stringify(mixed))).toThrow(
      expect.objectContaining({
        code: "ATT_INVALID_MESSAGE",
        message: expect.stringContaining("transfers[1].from"),
      }),
    );
  });

  it("gives 0 for every feature of an empty transfer list (not a valid message, but defined)", () => {
    const named = features(message([]));
    for (const name of TX_NAMES) expect(named[name], name).toBe(0);
  });

  it("counts tokens without metadata (NFTs, unresolved) and needs no enrichment at all", () => {
    // NO_ENRICHMENT has no metadata for any token and no first-transaction time; these work anyway.
    expect(
      features(
        message([
          [NFT, SENDER, POOL, "1"],
          [NFT, SENDER, POOL, "2"],
        ]),
        {
          features: ["n_distinct_tokens", "max_transfers_per_token", "transfer_counts"],
          tokenMatch: "symbol",
          tokens: [],
        },
      ),
    ).toEqual({ n_distinct_tokens: 1, max_transfers_per_token: 2, transfer_counts: 2 });
  });

  it("a card of transaction-level features only: empty token types and max name, nothing resolved", () => {
    const r = computeFeatures(message([[USDC, SENDER, POOL, "1"]]), NO_ENRICHMENT, {
      features: ["n_mints", "n_distinct_senders"],
      tokenMatch: "address",
      tokens: [],
    });
    expect(r).toMatchObject({ ok: true, tokenTypes: [], maxSingleTokenName: "", transferCount: 1 });
  });

  it("still refuses a row when a token feature in the same card lacks its metadata", () => {
    const r = computeFeatures(message([[USDC, SENDER, POOL, "1"]]), NO_ENRICHMENT, {
      features: ["n_mints", "USDC_transfers"],
      tokenMatch: "symbol",
      tokens: [],
    });
    expect(r).toMatchObject({ ok: false, code: "ATT_ENRICHMENT_MISSING" });
  });

  it("every transaction-level feature has its row in docs/enrichment.md", () => {
    const doc = readFileSync(new URL("../docs/enrichment.md", import.meta.url), "utf8");
    const rows = new Set([...doc.matchAll(/^\| `([a-z_]+)` \| .+ \| .+ \| .+ \|$/gm)].map((m) => m[1]));
    expect(TX_NAMES.filter((n) => !rows.has(n))).toEqual([]);
    expect(TX_NAMES.length).toBeGreaterThanOrEqual(10);
  });
});
