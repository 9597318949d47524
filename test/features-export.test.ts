import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeFinding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { computeFeatures } from "../src/features/compute.js";
import { DEAD_ADDRESS, TX_FEATURES, ZERO_ADDRESS } from "../src/features/transaction.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { parseCsv } from "../src/kernel/csv.js";
import { buildScoredFinding } from "../src/sink/findings.js";
import { createFindingsCollector } from "../src/tools/stats/collect.js";
import { EXPORT_ID_COLUMNS, exportFeatureCsv } from "../src/tools/stats/export-features.js";

// `att stats --export-features` reads the features back from the findings' metadata by the card's
// names: the transaction-level ones travel the same way as the ATT bot's, from the extractor's
// `named` record into the finding and out into the CSV `att model train` reads.
const SENDER = "0x8032eaede5c55f744387ca53aaf0499abcd783e5";
const POOL = "0x37a48e35d0e98c3bacfeb025bd76b173eb736257";
const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";

function message(i: number, transfers: [from: string, to: string, value: string][]): TokenTransferTx {
  return {
    v: 1,
    chainId: 1,
    blockNumber: 100 + i,
    blockHash: `0x${(100 + i).toString(16).padStart(64, "0")}`,
    blockTimestamp: 1_660_000_000 + i * 12,
    txHash: `0x${(0xfeed00 + i).toString(16).padStart(64, "0")}`,
    txIndex: 0,
    from: SENDER,
    to: POOL,
    transfers: transfers.map(([from, to, value], k) => ({ logIndex: k, token: USDC, from, to, value })),
    observedAt: 0,
  };
}

describe("the transaction-level features in the findings and in att stats --export-features", () => {
  it("exports every card feature of every scored finding, as computed", async () => {
    const card: FeatureSpec = {
      features: ["USDC_value", ...Object.keys(TX_FEATURES).reverse()],
      tokenMatch: "symbol",
      tokens: [{ symbol: "USDC" }],
    };
    const tokens = new Map<string, TokenMeta>([
      [USDC, { address: USDC, kind: "erc20", symbol: "USDC", name: "USD Coin", decimals: 6 }],
    ]);
    const txs = [
      message(0, [[SENDER, POOL, "1234567"]]),
      message(1, [
        [ZERO_ADDRESS, SENDER, "5000000"],
        [SENDER, DEAD_ADDRESS, "1000000"],
        [SENDER, SENDER, "0"],
      ]),
    ];
    const model = { version: "tx-level-export", threshold: 0.5 };
    const collector = createFindingsCollector({ featuresOf: () => card.features, keepFeatureText: true });
    const computed = txs.map((tx, i) => {
      const r = computeFeatures(tx, { tokens, firstTxTimestamp: null }, card);
      if (!r.ok) throw new Error(r.reason);
      const finding = buildScoredFinding(
        {
          tx,
          features: r.named,
          maxSingleTokenName: r.maxSingleTokenName,
          tokenTypes: r.tokenTypes,
          score: 0.4 + i / 10,
          anomalous: i === 1,
          explanations: [],
          featureTimeSec: 0,
          modelTimeSec: 0,
        },
        model,
      );
      for (const name of Object.keys(TX_FEATURES))
        expect(finding.metadata[name], name).toBe(String(r.named[name]));
      collector.add({
        inRange: true,
        partition: 0,
        offset: String(i),
        timestamp: 0,
        key: finding.uniqueKey,
        value: Buffer.from(serializeFinding(finding)),
        headers: {},
      });
      return r.named;
    });

    const path = join(mkdtempSync(join(tmpdir(), "att-features-export-")), "rows.csv");
    expect(await exportFeatureCsv(path, collector.findings.values(), card.features)).toBe(2);
    const [header, ...rows] = parseCsv(readFileSync(path, "utf8")).filter((r) => r.length > 1);
    expect(header).toEqual([...EXPORT_ID_COLUMNS, ...card.features]);
    const values = rows.map((r) =>
      Object.fromEntries(card.features.map((f, k) => [f, Number(r[EXPORT_ID_COLUMNS.length + k])])),
    );
    expect(values).toEqual(computed);
    expect(values[1]).toMatchObject({
      n_mints: 1,
      n_burns: 1,
      n_self_transfers: 1,
      n_zero_value_transfers: 1,
      USDC_value: 6,
    });
  });
});
