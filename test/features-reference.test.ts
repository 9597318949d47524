import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { computeFeatures } from "../src/features/compute.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { ATT_SPEC, loadMainnetTransferTxs, MAINNET_TRANSFERS_CSV } from "./helpers/mainnet.js";
import { SHARED_DATA } from "./helpers/services.js";

const EXPLOITS = fileURLToPath(new URL("att-reference/exploit_rows.csv", SHARED_DATA));
const TRANSFERS = MAINNET_TRANSFERS_CSV;
const haveExploits = existsSync(EXPLOITS);
const haveTransfers = existsSync(TRANSFERS);
if (!haveExploits || !haveTransfers) {
  console.warn(
    `features-reference: skipping tests that need ${fileURLToPath(SHARED_DATA)} (not present in this checkout)`,
  );
}

/** Splits one CSV line, honouring double quotes (the token_types column holds commas). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const cols = csvLine(header!);
  return lines.map((l) => Object.fromEntries(csvLine(l).map((v, i) => [cols[i]!, v])));
}

const NOT_FEATURES = new Set(["tx_hash", "from_address", "block_timestamp", "token_types", "scores"]);
const fakeAddress = (i: number) => `0x${(i + 1).toString(16).padStart(40, "0")}`;
const units = (value: number) => BigInt(Math.round(value * 1000)) * 10n ** 15n; // 18-decimal raw amount, 3 decimals exact

describe.skipIf(!haveExploits)("the six exploit rows of the ATT training notebook, reconstructed", () => {
  const rows = haveExploits ? readCsv(EXPLOITS) : [];
  const featureNames = haveExploits ? Object.keys(rows[0]!).filter((c) => !NOT_FEATURES.has(c)) : [];
  const modelSymbols = featureNames
    .filter((f) => f.endsWith("_transfers") && f !== "max_single_token_transfers")
    .map((f) => f.slice(0, -"_transfers".length));
  // The model card of the ATT model: the 45 columns as the notebook named them, matched by symbol.
  const spec: FeatureSpec = {
    features: featureNames,
    tokenMatch: "symbol",
    tokens: modelSymbols.map((symbol) => ({ symbol })),
  };

  /**
   * Rebuilds a transaction from a row: the model tokens with their counts and value sums, the
   * row's max-single-token placed first, the other token types sharing the remaining transfers.
   */
  function rebuild(row: Record<string, string>): { tx: TokenTransferTx; tokens: Map<string, TokenMeta> } {
    const types = [...row.token_types!.matchAll(/'([^']+)'/g)].map((m) => m[1]!).sort();
    const maxCount = Number(row.max_single_token_transfers_count);
    const maxValue = Number(row.max_single_token_transfers_value);
    const plan: { symbol: string; count: number; value: number }[] = [];
    for (const s of modelSymbols) {
      const count = Number(row[`${s}_transfers`]);
      if (count > 0) plan.push({ symbol: s, count, value: Number(row[`${s}_value`]) });
    }
    let maxIdx = plan.findIndex(
      (p) => p.count === maxCount && Math.abs(p.value - maxValue) <= 1e-6 * maxValue + 0.01,
    );
    const others = types.filter((t) => !plan.some((p) => p.symbol === t));
    if (maxIdx < 0) {
      plan.push({ symbol: others.shift()!, count: maxCount, value: maxValue });
      maxIdx = plan.length - 1;
    }
    let remaining = Number(row.transfer_counts) - plan.reduce((a, p) => a + p.count, 0);
    others.forEach((symbol, i) => {
      const count = Math.min(maxCount, remaining - (others.length - i - 1));
      remaining -= count;
      plan.push({ symbol, count, value: count });
    });
    plan.unshift(...plan.splice(maxIdx, 1));
    const tokens = new Map<string, TokenMeta>();
    const transfers: [string, bigint][] = [];
    plan.forEach((p, i) => {
      const address = fakeAddress(i);
      tokens.set(address, {
        address,
        kind: "erc20",
        symbol: p.symbol,
        name: `${p.symbol} token`,
        decimals: 18,
      });
      const each = units(p.value / p.count);
      for (let k = 0; k < p.count; k++)
        transfers.push([address, k === p.count - 1 ? units(p.value) - each * BigInt(p.count - 1) : each]);
    });
    const blockTimestamp = Date.parse(row.block_timestamp!.replace(" ", "T")) / 1000;
    const tx: TokenTransferTx = {
      v: 1,
      chainId: 1,
      blockNumber: 14_000_000,
      blockHash: `0x${"00".repeat(32)}`,
      blockTimestamp,
      txHash: row.tx_hash!,
      txIndex: 0,
      from: row.from_address!,
      to: null,
      transfers: transfers.map(([token, value], logIndex) => ({
        logIndex,
        token,
        from: row.from_address!,
        to: row.from_address!,
        value: value.toString(),
      })),
      observedAt: 0,
    };
    return { tx, tokens };
  }

  it.each(rows.map((r) => [r.tx_hash!.slice(0, 10), r] as const))(
    "reproduces every feature of %s",
    (_hash, row) => {
      const { tx, tokens } = rebuild(row);
      const first = tx.blockTimestamp - Math.round(Number(row.account_age_in_minutes) * 60);
      const r = computeFeatures(tx, { tokens, firstTxTimestamp: first }, spec);
      if (!r.ok) throw new Error(r.reason);
      for (const name of featureNames) {
        const expected = Number(row[name]);
        // the CSV prints 7 significant digits; every transfer carries up to 0.0005 of rounding
        expect(r.named[name], name).toBeCloseTo(
          expected,
          expected > 1000 ? -Math.floor(Math.log10(expected)) + 6 : 2,
        );
      }
      expect(r.tokenTypes).toHaveLength(Number(row.tokens_type_counts));
    },
  );
});

describe.skipIf(!haveTransfers)(
  "14,323 mainnet transfers (blocks 15,320,500-15,320,599) turned into feature rows",
  () => {
    const list = JSON.parse(
      readFileSync(new URL("fixtures/token-list-mainnet.json", import.meta.url), "utf8"),
    ) as { tokens: TokenMeta[] };
    const known = new Map(list.tokens.map((t) => [t.address, t]));

    const load = () => loadMainnetTransferTxs(TRANSFERS);
    /** Metadata from the token-list fixture; any other address is unknown (no decimals). */
    const tokenMeta = (address: string): TokenMeta =>
      known.get(address) ?? { address, kind: "unknown", symbol: null, name: null, decimals: null };
    /** A deterministic first-transaction time per sender, up to a year before the block. */
    const firstTx = (tx: TokenTransferTx) =>
      tx.blockTimestamp - (Number.parseInt(tx.from.slice(2, 10), 16) % 525_600) * 60;

    const spec = ATT_SPEC;

    it("computes a finite row for every one of the ~9,000 transactions", () => {
      const txs = load();
      expect(txs.length).toBe(9035);
      let transfers = 0;
      const totals: Record<string, number> = {};
      for (const tx of txs) {
        const tokens = new Map(tx.transfers.map((t) => [t.token, tokenMeta(t.token)]));
        const r = computeFeatures(tx, { tokens, firstTxTimestamp: firstTx(tx) }, spec);
        if (!r.ok) throw new Error(`${tx.txHash}: ${r.code} ${r.reason}`);
        expect(r.values.every(Number.isFinite)).toBe(true);
        transfers += r.named.transfer_counts!;
        for (const s of ["USDT", "USDC", "WETH", "SHIB"])
          totals[s] = (totals[s] ?? 0) + r.named[`${s}_transfers`]!;
        expect(r.named.max_single_token_transfers_count).toBeLessThanOrEqual(r.named.transfer_counts!);
        expect(r.named.account_active_period_in_minutes).toBeGreaterThanOrEqual(0);
      }
      expect(transfers).toBe(14_323);
      // every transfer of these contracts in the CSV is counted under its symbol
      expect(totals).toEqual({ USDT: 1644, USDC: 1229, WETH: 2133, SHIB: 98 });
    });

    it("matches a hand-computed row: tx 0x54f4d2… (WETH 0.026, USDC 49.731, one unknown token)", () => {
      const tx = load().find((t) => t.txHash.startsWith("0x54f4d2da"))!;
      const tokens = new Map(tx.transfers.map((t) => [t.token, tokenMeta(t.token)]));
      const r = computeFeatures(tx, { tokens, firstTxTimestamp: tx.blockTimestamp - 600 }, spec);
      if (!r.ok) throw new Error(r.reason);
      expect(r.named).toMatchObject({
        WETH_transfers: 1,
        WETH_value: 0.026,
        USDC_transfers: 1,
        USDC_value: 49.731,
        account_active_period_in_minutes: 10,
        max_single_token_transfers_count: 1,
        max_single_token_transfers_value: 0.026,
        tokens_type_counts: 2,
        transfer_counts: 3,
      });
      expect(r.maxSingleTokenName).toBe("Wrapped Ether");
    });
  },
);
