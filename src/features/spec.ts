import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { ModelError } from "../kernel/errors.js";
import { recordFactory, type RecordFactory } from "../kernel/record-shape.js";
import { TX_FEATURES } from "./transaction.js";
import type { FeatureSpec } from "./types.js";

/** The features that do not name a token, by the bot's names (and the training notebook's aliases). */
export const GENERIC_FEATURES = {
  transfer_counts: "transferCount",
  account_active_period_in_minutes: "activePeriod",
  /** The training notebook's name of the active period (exploit_rows.csv). */
  account_age_in_minutes: "activePeriod",
  max_single_token_transfers_count: "maxCount",
  /** The training notebook's name of the count (exploit_rows.csv). */
  max_single_token_transfers: "maxCount",
  max_single_token_transfers_value: "maxValue",
  tokens_type_counts: "tokenTypeCount",
} as const;
type GenericSlot = (typeof GENERIC_FEATURES)[keyof typeof GENERIC_FEATURES];
/** Generic slots that need no token metadata: every log counts, the active period is the sender's. */
const METADATA_FREE_SLOTS: ReadonlySet<GenericSlot> = new Set(["transferCount", "activePeriod"]);

/** One column of the model input and where its value comes from. */
export type Column =
  | { name: string; source: "generic"; slot: GenericSlot }
  | { name: string; source: "token"; key: string; field: "transfers" | "value" }
  | { name: string; source: "tx"; compute: (tx: TokenTransferTx) => number };

/** A FeatureSpec checked and turned into a plan: per column, which accumulator feeds it. */
export interface CompiledSpec {
  spec: FeatureSpec;
  columns: Column[];
  /** Lower-case model-token addresses (address matching only). */
  modelAddresses: ReadonlySet<string>;
  needsFirstTx: boolean;
  /**
   * Whether any column needs token metadata (a token feature, the max-single-token pair or
   * `tokens_type_counts`). Without it the extractor skips the per-token pass, and a batch whose
   * model also needs no first-transaction time asks the enricher nothing.
   */
  needsTokens: boolean;
  /** Builds the named feature record of a row (columns' names, in order) as one compiled shape. */
  named: RecordFactory<number>;
}

const compiled = new WeakMap<FeatureSpec, CompiledSpec>();
const TOKEN_FEATURE = /^(.+)_(transfers|value)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function specError(msg: string, details: string[]): ModelError {
  return new ModelError(msg, { code: "ATT_FEATURE_SPEC_INVALID", details });
}

/**
 * The vocabulary a model card picks its features from, in words (the refusal of an unknown name
 * lists it): the generic features, the transaction-level ones, and the per-token pair for the
 * card's token matching.
 */
export function describeVocabulary(spec: Pick<FeatureSpec, "tokenMatch" | "tokens">): string[] {
  const symbols = spec.tokens.map((t) => t.symbol);
  return [
    `generic: ${Object.keys(GENERIC_FEATURES).join(", ")}`,
    `transaction-level (no enrichment): ${Object.keys(TX_FEATURES).join(", ")}`,
    spec.tokenMatch === "address"
      ? `per token, matched by address: <SYMBOL>_transfers, <SYMBOL>_value with SYMBOL one of the card's tokens (${symbols.length ? symbols.join(", ") : "none listed"})`
      : "per token, matched by symbol: <SYMBOL>_transfers, <SYMBOL>_value for any SYMBOL",
  ];
}

/**
 * Checks a model card's feature list once and caches the plan (keyed by the spec object). Any
 * subset of the vocabulary (`describeVocabulary`), in any order, is a valid list.
 * Throws ModelError `ATT_FEATURE_SPEC_INVALID` naming every feature it does not understand.
 */
export function compileSpec(spec: FeatureSpec): CompiledSpec {
  const hit = compiled.get(spec);
  if (hit) return hit;
  if (spec.tokenMatch !== "symbol" && spec.tokenMatch !== "address") {
    throw specError(`Unknown token_match ${JSON.stringify(spec.tokenMatch)} in the model card`, [
      `Got: ${JSON.stringify(spec.tokenMatch)}`,
      'Expected: "symbol" or "address"',
      'Fix: set "token_match" to "symbol" (a token counts by its symbol, as the ATT model was trained) or "address" (only the contracts in "tokens")',
    ]);
  }
  const bySymbol = new Map(spec.tokens.map((t) => [t.symbol, t]));
  const columns: Column[] = [];
  const modelAddresses = new Set<string>();
  const seen = new Set<string>();
  const unknown: string[] = [];
  for (const name of spec.features) {
    if (seen.has(name))
      throw specError(`Feature ${name} appears twice in the model card`, [
        "Fix: list each feature once, in the model's column order",
      ]);
    seen.add(name);
    // Generic and transaction-level names win over the <SYMBOL>_transfers pattern
    // (max_single_token_transfers, n_self_transfers are not tokens).
    if (Object.hasOwn(GENERIC_FEATURES, name)) {
      columns.push({
        name,
        source: "generic",
        slot: GENERIC_FEATURES[name as keyof typeof GENERIC_FEATURES],
      });
      continue;
    }
    if (Object.hasOwn(TX_FEATURES, name)) {
      columns.push({ name, source: "tx", compute: TX_FEATURES[name]! });
      continue;
    }
    const m = TOKEN_FEATURE.exec(name);
    if (!m) {
      unknown.push(name);
      continue;
    }
    const symbol = m[1]!;
    const field = m[2] as "transfers" | "value";
    if (spec.tokenMatch === "symbol") {
      columns.push({ name, source: "token", key: symbol, field });
      continue;
    }
    const address = bySymbol.get(symbol)?.address;
    if (!address || !ADDRESS.test(address)) {
      throw specError(`Feature ${name}: the model matches tokens by address but ${symbol} has none`, [
        `Got: ${address === undefined ? "no address" : JSON.stringify(address)}`,
        "Expected: a 0x-prefixed 20-byte hex address for every token a feature names",
        `Fix: give { "symbol": "${symbol}", "address": "0x…" } in the model card's tokens`,
      ]);
    }
    const key = address.toLowerCase();
    modelAddresses.add(key);
    columns.push({ name, source: "token", key, field });
  }
  if (unknown.length) {
    throw specError(
      `Unknown feature${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} in the model card`,
      [
        `Got: ${unknown.map((n) => JSON.stringify(n)).join(", ")}`,
        "Expected: names from the extractor's vocabulary (docs/enrichment.md):",
        ...describeVocabulary(spec).map((line) => `  ${line}`),
        "Fix: rename or drop these features in the card (and retrain on the vocabulary's columns)",
      ],
    );
  }
  const result: CompiledSpec = {
    spec,
    columns,
    modelAddresses,
    needsFirstTx: columns.some((c) => c.source === "generic" && c.slot === "activePeriod"),
    needsTokens: columns.some(
      (c) => c.source === "token" || (c.source === "generic" && !METADATA_FREE_SLOTS.has(c.slot)),
    ),
    named: recordFactory<number>(columns.map((c) => c.name)),
  };
  compiled.set(spec, result);
  return result;
}
