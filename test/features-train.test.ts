import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { computeFeatures } from "../src/features/compute.js";
import { TX_FEATURES } from "../src/features/transaction.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { loadModel } from "../src/model/index.js";
import { featureSpecOf } from "../src/score/wiring.js";
import { loadMainnetTransferTxs, MAINNET_TRANSFERS_CSV } from "./helpers/mainnet.js";
import { HAS_VENV } from "./model-fixtures.js";
import { runAtt } from "./helpers/processes.js";

// The retraining loop with the transaction-level features: the extractor's rows as the CSV
// `att model train` reads, a model trained on them, and that model fed by the extractor again
// through the card it wrote (names, order, token matching) scores every row as `att model score`
// scores the CSV.
const HAVE_TRANSFERS = existsSync(MAINNET_TRANSFERS_CSV);
if (!HAS_VENV || !HAVE_TRANSFERS)
  console.warn(
    `features-train: skipped (${!HAS_VENV ? "model-tools/.venv is not set up" : `${MAINNET_TRANSFERS_CSV} is absent`})`,
  );

const LIST = new URL("./fixtures/token-list-mainnet.json", import.meta.url);

describe.skipIf(!HAS_VENV || !HAVE_TRANSFERS)("a model trained on transaction-level features", () => {
  it("trains from the extractor's rows, loads, and scores the extractor's rows as att model score scores the CSV", async () => {
    const txs = loadMainnetTransferTxs().slice(0, 600);
    const list = (JSON.parse(readFileSync(LIST, "utf8")) as { tokens: TokenMeta[] }).tokens;
    const known = new Map(list.map((t) => [t.address, t]));
    const ctx = (tokens: string[]) => ({
      tokens: new Map(
        tokens.map((a): [string, TokenMeta] => [
          a,
          known.get(a) ?? { address: a, kind: "not-erc20", symbol: null, name: null, decimals: null },
        ]),
      ),
      firstTxTimestamp: null,
    });
    // The author's feature list: every transaction-level feature, one token by symbol, one generic.
    const authored: FeatureSpec = {
      features: [...Object.keys(TX_FEATURES), "USDC_transfers", "USDC_value", "transfer_counts"],
      tokenMatch: "symbol",
      tokens: [{ symbol: "USDC" }],
    };
    const lines = [["tx_hash", ...authored.features].join(",")];
    for (const tx of txs) {
      const r = computeFeatures(tx, ctx(tx.transfers.map((t) => t.token)), authored);
      if (!r.ok) throw new Error(`${tx.txHash}: ${r.code} ${r.reason}`);
      lines.push([tx.txHash, ...authored.features.map((f) => String(r.named[f]))].join(","));
    }
    const dir = mkdtempSync(join(tmpdir(), "att-features-train-"));
    const csv = join(dir, "rows.csv");
    writeFileSync(csv, `${lines.join("\n")}\n`);
    const out = join(dir, "model");

    const trained = await runAtt(
      [
        "model",
        "train",
        "--input",
        csv,
        "--out",
        out,
        "--n-estimators",
        "25",
        "--model-version",
        "tx-level-test",
      ],
      {},
      170_000,
    );
    expect(trained.code, trained.stderr).toBe(0);
    const card = JSON.parse(readFileSync(join(out, "model.json"), "utf8")) as {
      features: string[];
      tokens: { symbol: string }[];
    };
    // The trainer orders the columns by name and finds USDC as the only token (no "n_self" token).
    expect(card.features).toEqual([...authored.features].sort());
    expect(card.tokens.map((t) => t.symbol)).toEqual(["USDC"]);

    const scored = await runAtt(["model", "score", "--model", out, "--input", csv], {}, 170_000);
    expect(scored.code, scored.stderr).toBe(0);
    const expected = scored.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; score: number });
    expect(expected).toHaveLength(txs.length);

    // The engine loads the card (its vocabulary check included) and the extractor feeds it.
    const model = await loadModel(out);
    onTestFinished(() => model.close());
    const spec = featureSpecOf(model);
    const rows = new Float32Array(txs.length * spec.features.length);
    txs.forEach((tx, i) => {
      const r = computeFeatures(tx, ctx(tx.transfers.map((t) => t.token)), spec);
      if (!r.ok) throw new Error(`${tx.txHash}: ${r.code} ${r.reason}`);
      rows.set(r.values, i * spec.features.length);
    });
    const scores = Array.from(await model.scoreRows(rows, txs.length));
    expect(scores).toEqual(expected.map((e) => e.score));
    expect(expected.map((e) => e.id)).toEqual(txs.map((t) => t.txHash));
    // Not a constant model: the transaction-level columns split the rows.
    expect(new Set(scores).size).toBeGreaterThan(10);
  }, 400_000);
});
