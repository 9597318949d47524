import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { computeFeatures } from "../src/features/compute.js";
import { normalizedTransferValue, pyRound3 } from "../src/features/python-number.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { ModelError } from "../src/kernel/errors.js";
import { ATT_FEATURES, ATT_SYMBOLS as SYMBOLS } from "./helpers/mainnet.js";

const ADDR = {
  usdc: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
  usdt: "0xdac17f958d2ee523a2206206994597c13d831ec7",
  weth: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
  fakeUsdc: "0x1111111111111111111111111111111111111111",
  unknown: "0x51db5ad35c671a87207d88fc11d593ac0c8415bd",
  nft: "0xaa462106da447c0440a4be29614c19387a59a331",
  nexo: "0xb62132e35a6c13ee1ee0f84dc5d40bad8d815206",
  enj: "0xf629cbd94d3791c9250152bd8dfbdf380e2a3b9c",
};
const bySymbol: FeatureSpec = {
  features: ATT_FEATURES,
  tokenMatch: "symbol",
  tokens: SYMBOLS.map((symbol) => ({ symbol })),
};
const byAddress: FeatureSpec = {
  features: ["USDC_transfers", "USDC_value", "WETH_transfers", "WETH_value", ...ATT_FEATURES.slice(-5)],
  tokenMatch: "address",
  tokens: [
    { symbol: "USDC", address: ADDR.usdc },
    { symbol: "WETH", address: ADDR.weth },
  ],
};

const meta = (
  address: string,
  symbol: string | null,
  name: string | null,
  decimals: number | null,
): TokenMeta => ({
  address,
  kind: decimals === null ? "not-erc20" : "erc20",
  symbol,
  name,
  decimals,
});
const TOKENS = new Map<string, TokenMeta>([
  [ADDR.usdc, meta(ADDR.usdc, "USDC", "USD Coin", 6)],
  [ADDR.usdt, meta(ADDR.usdt, "USDT", "Tether USD", 6)],
  [ADDR.weth, meta(ADDR.weth, "WETH", "Wrapped Ether", 18)],
  [ADDR.fakeUsdc, meta(ADDR.fakeUsdc, "USDC", "USD Coin (fake)", 6)],
  [ADDR.unknown, { address: ADDR.unknown, kind: "unknown", symbol: null, name: null, decimals: null }],
  [ADDR.nft, meta(ADDR.nft, "ENSMAXIS", "ENS Maxis", null)],
  [ADDR.nexo, meta(ADDR.nexo, "NEXO", "Nexo", 18)],
  [ADDR.enj, meta(ADDR.enj, "ENJ", "Enjin Coin", 18)],
]);
const SENDER = "0x8032eaede5c55f744387ca53aaf0499abcd783e5";
const TS = 1_660_000_000;

function tx(transfers: [token: string, value: string][]): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 15_320_500,
    blockHash: `0x${"ab".repeat(32)}`,
    blockTimestamp: TS,
    txHash: `0x${"cd".repeat(32)}`,
    txIndex: 0,
    from: SENDER,
    to: null,
    transfers: transfers.map(([token, value], i) => ({
      logIndex: i,
      token,
      from: SENDER,
      to: "0x37a48e35d0e98c3bacfeb025bd76b173eb736257",
      value,
    })),
    observedAt: 0,
  };
}
const ctx = (firstTxTimestamp: number | null = TS - 90) => ({ tokens: TOKENS, firstTxTimestamp });

function ok(r: ReturnType<typeof computeFeatures>) {
  if (!r.ok) throw new Error(`expected features, got ${r.code}: ${r.reason}`);
  return r;
}

describe("computeFeatures (values checked by hand against the ATT bot's get_features)", () => {
  it("counts one USDC transfer: 49730618 raw units = 49.731 USDC, active period 1.5 minutes", () => {
    const r = ok(computeFeatures(tx([[ADDR.usdc, "49730618"]]), ctx(), bySymbol));
    expect(r.named).toMatchObject({
      USDC_transfers: 1,
      USDC_value: 49.731,
      account_active_period_in_minutes: 1.5,
      max_single_token_transfers_count: 1,
      max_single_token_transfers_value: 49.731,
      tokens_type_counts: 1,
      transfer_counts: 1,
      WETH_transfers: 0,
      WETH_value: 0,
    });
    expect(r.tokenTypes).toEqual(["USD Coin-USDC"]);
    expect(r.maxSingleTokenName).toBe("USD Coin");
    expect(r.values).toHaveLength(45);
    expect(r.values[ATT_FEATURES.indexOf("USDC_value")]).toBe(Math.fround(49.731));
  });

  it("sums a token sent many times transfer by transfer, each rounded to 3 decimals (mainnet tx 0x8a3e4ce2…)", () => {
    // USDT 4882.374 + 4879.202 + 3696.21 + 3222.325 + 775.725 + 498.79 + 314.679 + 196.227 + 67.002
    const usdt = [
      "4882374180",
      "4879201602",
      "3696210064",
      "3222325135",
      "775725153",
      "498789594",
      "314679343",
      "196227147",
      "67002354",
    ];
    const r = ok(
      computeFeatures(
        tx([
          ...usdt.slice(0, 4).map((v): [string, string] => [ADDR.usdt, v]),
          [ADDR.nexo, "2704425645970000000000"],
          [ADDR.enj, "1373424500000000000000"],
          ...usdt.slice(4, 7).map((v): [string, string] => [ADDR.usdt, v]),
          [ADDR.usdc, "263250347"],
          [ADDR.usdc, "208863683"],
          ...usdt.slice(7).map((v): [string, string] => [ADDR.usdt, v]),
        ]),
        ctx(),
        bySymbol,
      ),
    );
    // Python: sum of the rounded values in log order = 18532.534; USDC 263.25 + 208.864 = 472.11400000000003
    expect(r.named.USDT_transfers).toBe(9);
    expect(r.named.USDT_value).toBe(18532.534);
    expect(r.named.USDC_transfers).toBe(2);
    expect(r.named.USDC_value).toBe(472.11400000000003);
    expect(r.named.max_single_token_transfers_count).toBe(9);
    expect(r.named.max_single_token_transfers_value).toBe(18532.534);
    expect(r.maxSingleTokenName).toBe("Tether USD");
    expect(r.named.tokens_type_counts).toBe(4);
    expect(r.named.transfer_counts).toBe(13);
    expect(r.tokenTypes).toEqual(["Enjin Coin-ENJ", "Nexo-NEXO", "Tether USD-USDT", "USD Coin-USDC"]);
  });

  it("gives the max-single-token slot to the token that first reached the highest count", () => {
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.weth, "1000000000000000000"],
          [ADDR.usdc, "5000000"],
          [ADDR.usdc, "5000000"],
          [ADDR.weth, "2000000000000000000"],
        ]),
        ctx(),
        bySymbol,
      ),
    );
    // USDC reached 2 transfers first; WETH's later 2nd transfer does not exceed it.
    expect(r.maxSingleTokenName).toBe("USD Coin");
    expect(r.named.max_single_token_transfers_value).toBe(10);
    expect(r.named.WETH_value).toBe(3);
  });

  it("skips a token without decimals (unknown or not an ERC-20) except in transfer_counts, as the bot did", () => {
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.weth, "26369360912168932"],
          [ADDR.usdc, "49730618"],
          [ADDR.unknown, "13094363841833760800869"],
          [ADDR.nft, "5021"],
        ]),
        ctx(),
        bySymbol,
      ),
    );
    expect(r.named).toMatchObject({
      WETH_transfers: 1,
      WETH_value: 0.026,
      USDC_value: 49.731,
      tokens_type_counts: 2,
      transfer_counts: 4,
      max_single_token_transfers_count: 1,
      max_single_token_transfers_value: 0.026,
    });
    expect(r.maxSingleTokenName).toBe("Wrapped Ether");
    expect(r.tokenTypes).toEqual(["USD Coin-USDC", "Wrapped Ether-WETH"]);
  });

  it("gives zero token features and an empty max name when no token of the transaction has decimals", () => {
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.nft, "1"],
          [ADDR.nft, "2"],
        ]),
        ctx(),
        bySymbol,
      ),
    );
    expect(r.named.transfer_counts).toBe(2);
    expect(r.named.tokens_type_counts).toBe(0);
    expect(r.named.max_single_token_transfers_count).toBe(0);
    expect(r.maxSingleTokenName).toBe("");
    expect(r.tokenTypes).toEqual([]);
  });

  it("counts a fake token calling itself USDC as USDC when the model matches by symbol, as the ATT model was trained", () => {
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.usdc, "1000000"],
          [ADDR.fakeUsdc, "2000000"],
        ]),
        ctx(),
        bySymbol,
      ),
    );
    expect(r.named.USDC_transfers).toBe(2);
    expect(r.named.USDC_value).toBe(3);
    // the bot keyed the running count by symbol, so both land on one "USDC" counter
    expect(r.named.max_single_token_transfers_count).toBe(2);
    expect(r.named.tokens_type_counts).toBe(2);
  });

  it("does not let the fake USDC pass as USDC when the model matches by address", () => {
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.usdc, "1000000"],
          [ADDR.fakeUsdc, "2000000"],
        ]),
        ctx(),
        byAddress,
      ),
    );
    expect(r.named.USDC_transfers).toBe(1);
    expect(r.named.USDC_value).toBe(1);
    expect(r.named.max_single_token_transfers_count).toBe(1);
    expect(r.named.tokens_type_counts).toBe(2);
    expect(Array.from(r.values)).toEqual([1, 1, 0, 0, 1.5, 1, 1, 2, 2]);
  });

  it("orders the values as the model card lists the features, whatever that order is", () => {
    const spec: FeatureSpec = {
      features: ["transfer_counts", "WETH_value", "USDC_transfers"],
      tokenMatch: "symbol",
      tokens: [],
    };
    const r = ok(
      computeFeatures(
        tx([
          [ADDR.weth, "1500000000000000000"],
          [ADDR.usdc, "1"],
        ]),
        ctx(),
        spec,
      ),
    );
    expect(Array.from(r.values)).toEqual([2, 1.5, 1]);
  });

  it("computes the active period as (block time - first tx time) / 60, zero for the sender's first transaction", () => {
    expect(
      ok(computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(TS), bySymbol)).named.account_active_period_in_minutes,
    ).toBe(0);
    expect(
      ok(computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(TS - 724), bySymbol)).named
        .account_active_period_in_minutes,
    ).toBe(724 / 60);
  });
});

describe("computeFeatures refuses to guess", () => {
  it("reports missing token metadata with ATT_ENRICHMENT_MISSING", () => {
    const r = computeFeatures(
      tx([
        [ADDR.usdc, "1"],
        ["0x2222222222222222222222222222222222222222", "1"],
      ]),
      ctx(),
      bySymbol,
    );
    expect(r).toMatchObject({ ok: false, code: "ATT_ENRICHMENT_MISSING" });
    expect(!r.ok && r.reason).toContain("0x2222222222222222222222222222222222222222");
  });

  it("reports a sender the first-transaction provider does not know with ATT_FIRST_TX_NOT_FOUND", () => {
    expect(computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(null), bySymbol)).toMatchObject({
      ok: false,
      code: "ATT_FIRST_TX_NOT_FOUND",
    });
  });

  it("does not need the first transaction when the model has no active-period feature", () => {
    const spec: FeatureSpec = { features: ["transfer_counts"], tokenMatch: "symbol", tokens: [] };
    expect(ok(computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(null), spec)).named.transfer_counts).toBe(1);
  });

  it("reports a first transaction later than this one with ATT_FEATURE_NEGATIVE_ACTIVE_PERIOD", () => {
    const r = computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(TS + 60), bySymbol);
    expect(r).toMatchObject({ ok: false, code: "ATT_FEATURE_NEGATIVE_ACTIVE_PERIOD" });
  });

  it("reports a value beyond float32 (a 0-decimals token moving 2^255 units) with ATT_FEATURE_NOT_FINITE", () => {
    const zeroDec = "0x3333333333333333333333333333333333333333";
    const tokens = new Map(TOKENS).set(zeroDec, meta(zeroDec, "USDT", "Tether USD", 0));
    const r = computeFeatures(
      tx([[zeroDec, (1n << 255n).toString()]]),
      { tokens, firstTxTimestamp: TS },
      bySymbol,
    );
    expect(r).toMatchObject({ ok: false, code: "ATT_FEATURE_NOT_FINITE" });
    expect(!r.ok && r.reason).toContain("USDT_value");
  });
});

describe("the model card drives the feature list", () => {
  it("rejects a feature it does not know, naming it", () => {
    const spec: FeatureSpec = { features: ["gas_price"], tokenMatch: "symbol", tokens: [] };
    expect(() => computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(), spec)).toThrow(ModelError);
    expect(() => computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(), spec)).toThrow(/gas_price/);
  });

  it("rejects address matching for a token the card gives no address", () => {
    const spec: FeatureSpec = { features: ["DAI_value"], tokenMatch: "address", tokens: [{ symbol: "DAI" }] };
    expect(() => computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(), spec)).toThrow(/DAI has none/);
  });

  it("accepts the training notebook's names for the active period and the max count", () => {
    const spec: FeatureSpec = {
      features: ["account_age_in_minutes", "max_single_token_transfers"],
      tokenMatch: "symbol",
      tokens: [],
    };
    expect(Array.from(ok(computeFeatures(tx([[ADDR.usdc, "1"]]), ctx(), spec)).values)).toEqual([1.5, 1]);
  });
});

describe("Python float semantics of round(value / 10**decimals, 3)", () => {
  // Generated with CPython 3: repr(round(v / 10**d, 3)) for v an int.
  const vectors: [string, number, string][] = [
    ["207388625", 6, "207.389"],
    ["9636726036158350450074932645259282", 24, "9636726036.158"],
    ["12094788948185", 9, "12094.789"],
    ["112297270659534507133242256", 8, "1.122972706595345e+18"],
    ["4421703276944032509908319268", 9, "4.4217032769440323e+18"],
    ["99624710948314388839943937341685304746", 18, "9.962471094831438e+19"],
    ["3623", 8, "0.0"],
    ["557131352551243386252225922438829772", 0, "5.571313525512434e+35"],
    ["636097780707", 24, "0.0"],
    ["1715291386372", 9, "1715.291"],
    ["857700650133", 2, "8577006501.33"],
    ["2177929194006989519", 8, "21779291940.07"],
    ["70502068370708729652", 18, "70.502"],
    ["157865095876407642", 9, "157865095.876"],
    ["5514697297919618235744785930", 24, "5514.697"],
    ["845170200198685204077419339", 18, "845170200.199"],
    ["93429071790270", 8, "934290.718"],
    ["8", 2, "0.08"],
    ["696491312960600769359912531332564432", 24, "696491312960.601"],
    ["813971648992618887617", 9, "813971648992.619"],
    ["877741476122098170160705712545915", 24, "877741476.122"],
    // exact binary ties go to the even digit: 0.0625 -> 0.062, 0.1875 -> 0.188
    ["625", 4, "0.062"],
    ["1875", 4, "0.188"],
    ["3125", 4, "0.312"],
    // decimal-looking ties are not binary ties: 0.0005 is stored a hair above
    ["5", 4, "0.001"],
    ["1373424500000000000000", 18, "1373.425"],
    ["999999", 6, "1.0"],
  ];
  it.each(vectors)("round(%s / 10**%i, 3) == %s", (value, decimals, python) => {
    expect(normalizedTransferValue(value, decimals)).toBe(Number(python));
  });

  it("leaves integers beyond 2^52 unchanged", () => {
    expect(pyRound3(2 ** 60)).toBe(2 ** 60);
  });
});

describe("the committed model cards", () => {
  const registry = new URL("../models/registry/", import.meta.url);
  const cards = existsSync(registry)
    ? readdirSync(registry).filter((d) => existsSync(new URL(`${d}/model.json`, registry)))
    : [];

  it.each(cards)("%s: its feature list and token matching are understood", (dir) => {
    const card = JSON.parse(readFileSync(new URL(`${dir}/model.json`, registry), "utf8")) as {
      features: string[];
      token_match: "symbol" | "address";
      tokens: { symbol: string; address?: string }[];
    };
    const spec: FeatureSpec = { features: card.features, tokenMatch: card.token_match, tokens: card.tokens };
    const r = ok(computeFeatures(tx([[ADDR.usdc, "49730618"]]), ctx(), spec));
    expect(r.values).toHaveLength(card.features.length);
    expect(r.values[card.features.indexOf("USDC_value")]).toBe(Math.fround(49.731));
    expect(r.values[card.features.indexOf("transfer_counts")]).toBe(1);
  });
});
