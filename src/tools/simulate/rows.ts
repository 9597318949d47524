import { createHash } from "node:crypto";
import type { TokenTransferTx } from "../../contracts/token-transfer-tx.js";
import { createCsvFile } from "../../kernel/csv.js";
import { computeFeatures, type FeatureSpec, type TokenMeta } from "../../features/index.js";
import { toRaw } from "./contracts.js";
import { DEFAULT_EXPLOIT_TEMPLATES, exploitPlan, templatesByName } from "./exploits.js";
import { createTrafficGenerator, type TxPlan } from "./generator.js";
import type { Marginals } from "./marginals.js";
import { createRandom, type Random } from "./random.js";
import type { TokenSpec } from "./tokens.js";

/**
 * The no-chain mode: the feature rows of simulated transactions, computed by the pipeline's
 * own feature extractor (src/features) from the same plans the chain simulator sends, so a
 * model can be trained on exactly the distribution `att demo` scores.
 */
export interface FeatureRow {
  label: "normal" | "exploit";
  kind: TxPlan["kind"];
  template?: string;
  txHash: string;
  named: Record<string, number>;
}

/** A fake but stable contract address per token symbol (token identity is by symbol). */
function tokenAddress(symbol: string): string {
  return `0x${createHash("sha256").update(`att-simulate:${symbol}`).digest("hex").slice(0, 40)}`;
}

function hex(rng: Random, bytes: number): string {
  return `0x${Buffer.from(rng.bytes(bytes)).toString("hex")}`;
}

/**
 * Turns a plan into the TokenTransferTx the ingest stage would publish for it on chain, and the
 * enrichment answers (token metadata, first-transaction time) the enrichment would resolve.
 */
export function planToTx(
  plan: TxPlan,
  rng: Random,
  blockTimestamp: number,
): { tx: TokenTransferTx; tokens: Map<string, TokenMeta>; firstTxTimestamp: number } {
  const from = hex(rng, 20);
  const tokens = new Map<string, TokenMeta>();
  const transfers = plan.transfers.map((t, i) => {
    const address = tokenAddress(t.token.symbol);
    tokens.set(address, {
      address,
      kind: "erc20",
      symbol: t.token.symbol,
      name: t.token.name,
      decimals: t.token.decimals,
    });
    return {
      logIndex: i,
      token: address,
      from: "0x0000000000000000000000000000000000000000",
      to: from,
      value: toRaw(t.amount, t.token.decimals).toString(),
    };
  });
  const tx: TokenTransferTx = {
    v: 1,
    chainId: 31337,
    blockNumber: 1,
    blockHash: hex(rng, 32),
    blockTimestamp,
    txHash: hex(rng, 32),
    txIndex: 0,
    from,
    to: null,
    transfers,
    observedAt: blockTimestamp * 1000,
  };
  return { tx, tokens, firstTxTimestamp: blockTimestamp - Math.round(plan.ageMinutes * 60) };
}

export function* simulateFeatureRows(opts: {
  marginals: Marginals;
  tokens: readonly TokenSpec[];
  spec: FeatureSpec;
  seed: number;
  rows: number;
  exploitRows?: number;
  exploitTemplates?: readonly string[];
}): Generator<FeatureRow> {
  const generator = createTrafficGenerator({
    marginals: opts.marginals,
    tokens: opts.tokens,
    seed: opts.seed + 1,
  });
  const rng = createRandom(opts.seed);
  const templates = templatesByName(opts.exploitTemplates ?? DEFAULT_EXPLOIT_TEMPLATES);
  const bySymbol = new Map(opts.tokens.map((t) => [t.symbol, t]));
  const exploitRows = opts.exploitRows ?? 0;
  const total = opts.rows + exploitRows;
  const base = 1_700_000_000;
  for (let i = 0; i < total; i++) {
    const exploit = i >= opts.rows;
    const plan = exploit ? exploitPlan(rng, rng.pick(templates), bySymbol) : generator.next();
    const { tx, tokens, firstTxTimestamp } = planToTx(plan, rng, base + i * 12);
    const r = computeFeatures(tx, { tokens, firstTxTimestamp }, opts.spec);
    if (!r.ok) throw new Error(`simulated transaction ${i} has no features: ${r.code} ${r.reason}`);
    yield {
      label: exploit ? "exploit" : "normal",
      kind: plan.kind,
      ...(plan.template ? { template: plan.template } : {}),
      txHash: tx.txHash,
      named: r.named,
    };
  }
}

const INTEGER = /(_transfers|_count|_counts)$/;

/** Writes rows as CSV: tx_hash, label (both ignored by training), then the model's features. */
export async function writeRowsCsv(
  path: string,
  features: readonly string[],
  rows: Iterable<FeatureRow>,
): Promise<number> {
  const out = createCsvFile(path);
  await out.write(["tx_hash", "label", ...features]);
  let n = 0;
  for (const row of rows) {
    const cells = features.map((f) => {
      const v = row.named[f] ?? 0;
      return INTEGER.test(f) ? String(Math.round(v)) : String(v);
    });
    await out.write([row.txHash, row.label, ...cells]);
    n += 1;
  }
  await out.close();
  return n;
}
