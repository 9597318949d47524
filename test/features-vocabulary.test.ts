import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { computeFeatures } from "../src/features/compute.js";
import { compileSpec, GENERIC_FEATURES } from "../src/features/spec.js";
import { TX_FEATURES, ZERO_ADDRESS } from "../src/features/transaction.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { ModelError } from "../src/kernel/errors.js";
import { ATT_FEATURES, ATT_SYMBOLS } from "./helpers/mainnet.js";
import { runAtt } from "./helpers/processes.js";
import { defaultModelDir } from "./model-fixtures.js";

// A model card picks any subset of the extractor's vocabulary, in any order (issue 15).
const SENDER = "0x8032eaede5c55f744387ca53aaf0499abcd783e5";
const POOL = "0x37a48e35d0e98c3bacfeb025bd76b173eb736257";
const ADDR = {
  usdc: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
  weth: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
  nexo: "0xb62132e35a6c13ee1ee0f84dc5d40bad8d815206",
  enj: "0xf629cbd94d3791c9250152bd8dfbdf380e2a3b9c",
  fakeNexo: "0x1111111111111111111111111111111111111111",
  myToken: "0x2222222222222222222222222222222222222222",
};
const meta = (address: string, symbol: string, name: string, decimals: number): TokenMeta => ({
  address,
  kind: "erc20",
  symbol,
  name,
  decimals,
});
const TOKENS = new Map<string, TokenMeta>([
  [ADDR.usdc, meta(ADDR.usdc, "USDC", "USD Coin", 6)],
  [ADDR.weth, meta(ADDR.weth, "WETH", "Wrapped Ether", 18)],
  [ADDR.nexo, meta(ADDR.nexo, "NEXO", "Nexo", 18)],
  [ADDR.enj, meta(ADDR.enj, "ENJ", "Enjin Coin", 18)],
  [ADDR.fakeNexo, meta(ADDR.fakeNexo, "NEXO", "Nexo (fake)", 18)],
  [ADDR.myToken, meta(ADDR.myToken, "MY_TOKEN", "Underscored", 0)],
]);
const TS = 1_660_000_000;
const ctx = { tokens: TOKENS, firstTxTimestamp: TS - 600 };

function message(transfers: [token: string, from: string, to: string, value: string][]): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 1,
    blockHash: `0x${"ab".repeat(32)}`,
    blockTimestamp: TS,
    txHash: `0x${"cd".repeat(32)}`,
    txIndex: 0,
    from: SENDER,
    to: POOL,
    transfers: transfers.map(([token, from, to, value], i) => ({ logIndex: i, token, from, to, value })),
    observedAt: 0,
  };
}
// 2 USDC out, 1.5 WETH back, 3 NEXO (2 real, 1 fake), 1 ENJ minted to the sender, 4 MY_TOKEN.
const TX = message([
  [ADDR.usdc, SENDER, POOL, "2000000"],
  [ADDR.weth, POOL, SENDER, "1500000000000000000"],
  [ADDR.nexo, SENDER, POOL, "1000000000000000000"],
  [ADDR.nexo, SENDER, POOL, "2000000000000000000"],
  [ADDR.fakeNexo, POOL, SENDER, "5000000000000000000"],
  [ADDR.enj, ZERO_ADDRESS, SENDER, "7000000000000000000"],
  [ADDR.myToken, SENDER, SENDER, "4"],
]);

function values(spec: FeatureSpec): number[] {
  const r = computeFeatures(TX, ctx, spec);
  if (!r.ok) throw new Error(`expected features, got ${r.code}: ${r.reason}`);
  return Array.from(r.values);
}

function refusal(spec: FeatureSpec): ModelError {
  try {
    compileSpec(spec);
  } catch (err) {
    if (err instanceof ModelError) return err;
    throw err;
  }
  throw new Error("expected the card to be refused");
}

describe("a model card picks any subset of the vocabulary", () => {
  it("three features of three kinds in an odd order come back in the card's order", () => {
    const spec: FeatureSpec = {
      features: ["n_transfers_to_tx_sender", "USDC_value", "account_active_period_in_minutes"],
      tokenMatch: "symbol",
      tokens: [{ symbol: "USDC" }],
    };
    expect(values(spec)).toEqual([4, 2, 10]);
    expect(values({ ...spec, features: [...spec.features].reverse() })).toEqual([10, 2, 4]);
  });

  it("an address-matched token list of tokens the ATT model never had (NEXO, ENJ, an underscored symbol)", () => {
    for (const s of ["NEXO", "ENJ", "MY_TOKEN"]) expect(ATT_SYMBOLS).not.toContain(s);
    const spec: FeatureSpec = {
      features: ["ENJ_value", "NEXO_transfers", "NEXO_value", "MY_TOKEN_transfers", "tokens_type_counts"],
      tokenMatch: "address",
      tokens: [
        { symbol: "NEXO", address: ADDR.nexo.toUpperCase().replace("0X", "0x") },
        { symbol: "ENJ", address: ADDR.enj },
        { symbol: "MY_TOKEN", address: ADDR.myToken },
      ],
    };
    // The fake NEXO is not the card's contract: 2 transfers, 3 NEXO (not 3 and 8).
    // tokens_type_counts by address: USDC, WETH, NEXO, fake NEXO, ENJ, MY_TOKEN.
    expect(values(spec)).toEqual([7, 2, 3, 1, 6]);
    // The same tokens by symbol: the fake NEXO counts as NEXO.
    expect(values({ ...spec, tokenMatch: "symbol" })).toEqual([7, 3, 8, 1, 6]);
  });

  it("any subset of the ATT features and the transaction-level ones, in any order, equals the full row at those names", () => {
    const vocabulary = [...ATT_FEATURES, "NEXO_transfers", "ENJ_value", ...Object.keys(TX_FEATURES)];
    const full = computeFeatures(TX, ctx, { features: vocabulary, tokenMatch: "symbol", tokens: [] });
    if (!full.ok) throw new Error(full.reason);
    let seed = 15;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const picked = vocabulary.filter(() => random() < 0.2);
      if (picked.length === 0) continue;
      for (let j = picked.length - 1; j > 0; j--) {
        const k = Math.floor(random() * (j + 1));
        [picked[j], picked[k]] = [picked[k]!, picked[j]!];
      }
      const expected = picked.map((f) => Math.fround(full.named[f]!));
      expect(values({ features: picked, tokenMatch: "symbol", tokens: [] }), picked.join(",")).toEqual(
        expected,
      );
    }
  });

  it("the generic and transaction-level names never read as tokens (max_single_token_transfers, n_self_transfers)", () => {
    const spec: FeatureSpec = {
      features: ["max_single_token_transfers", "n_self_transfers", "transfer_counts"],
      tokenMatch: "address",
      tokens: [],
    };
    expect(compileSpec(spec).columns.map((c) => c.source)).toEqual(["generic", "tx", "generic"]);
    expect(values(spec)).toEqual([2, 1, 7]);
  });
});

describe("a card naming features outside the vocabulary is refused", () => {
  it("names every unknown feature at once and lists what is valid (Got / Expected / Fix)", () => {
    const err = refusal({
      features: ["USDC_value", "gas_price", "n_burned", "USDC_volume"],
      tokenMatch: "symbol",
      tokens: [],
    });
    expect(err.code).toBe("ATT_FEATURE_SPEC_INVALID");
    expect(err.shortMessage).toBe("Unknown features gas_price, n_burned, USDC_volume in the model card");
    const details = err.details.join("\n");
    expect(details).toContain('Got: "gas_price", "n_burned", "USDC_volume"');
    expect(details).toContain("Expected: names from the extractor's vocabulary");
    for (const name of [...Object.keys(GENERIC_FEATURES), ...Object.keys(TX_FEATURES)])
      expect(details).toContain(name);
    expect(details).toContain("<SYMBOL>_transfers, <SYMBOL>_value for any SYMBOL");
    expect(details).toMatch(/^Fix: /m);
  });

  it("when matching by address, lists the card's tokens as the valid symbols", () => {
    const err = refusal({
      features: ["NEXO_value", "nexo_count"],
      tokenMatch: "address",
      tokens: [
        { symbol: "NEXO", address: ADDR.nexo },
        { symbol: "ENJ", address: ADDR.enj },
      ],
    });
    expect(err.shortMessage).toBe("Unknown feature nexo_count in the model card");
    expect(err.details.join("\n")).toContain("SYMBOL one of the card's tokens (NEXO, ENJ)");
  });

  it("refuses a token feature of a symbol the address-matched card does not list, with the fix", () => {
    const err = refusal({ features: ["WETH_value"], tokenMatch: "address", tokens: [] });
    expect(err.shortMessage).toContain("WETH has none");
    expect(err.details.join("\n")).toMatch(/^Fix: give \{ "symbol": "WETH", "address": "0x…" \}/m);
  });

  it("refuses a feature listed twice and an unknown token_match", () => {
    expect(refusal({ features: ["n_mints", "n_mints"], tokenMatch: "symbol", tokens: [] }).shortMessage).toBe(
      "Feature n_mints appears twice in the model card",
    );
    const bad = { features: ["n_mints"], tokenMatch: "contract", tokens: [] } as unknown as FeatureSpec;
    expect(refusal(bad).details.join("\n")).toContain('Got: "contract"');
  });

  it("att model inspect refuses a committed model whose card names unknown features, listing the vocabulary, exit 1", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "att-vocabulary-")), "m");
    cpSync(defaultModelDir(), dir, { recursive: true });
    const cardPath = join(dir, "model.json");
    const card = JSON.parse(readFileSync(cardPath, "utf8")) as { features: string[] };
    card.features[0] = "gas_price";
    card.features[3] = "USDC_volume";
    writeFileSync(cardPath, JSON.stringify(card));
    const r = await runAtt(["model", "inspect", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Unknown features gas_price, USDC_volume in the model card");
    expect(r.stderr).toContain(`transaction-level (no enrichment): ${Object.keys(TX_FEATURES).join(", ")}`);
    expect(r.stderr).toMatch(/Fix: rename or drop these features/);
  });
});
