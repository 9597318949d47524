import { ModelError } from "../kernel/errors.js";
import { recordFactory, type RecordFactory } from "../kernel/record-shape.js";
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

/** One column of the model input and where its value comes from. */
export type Column =
  | { name: string; source: "generic"; slot: GenericSlot }
  | { name: string; source: "token"; key: string; field: "transfers" | "value" };

/** A FeatureSpec checked and turned into a plan: per column, which accumulator feeds it. */
export interface CompiledSpec {
  spec: FeatureSpec;
  columns: Column[];
  /** Lower-case model-token addresses (address matching only). */
  modelAddresses: ReadonlySet<string>;
  needsFirstTx: boolean;
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
 * Checks a model card's feature list once and caches the plan (keyed by the spec object).
 * Throws ModelError `ATT_FEATURE_SPEC_INVALID` naming the feature it does not understand.
 */
export function compileSpec(spec: FeatureSpec): CompiledSpec {
  const hit = compiled.get(spec);
  if (hit) return hit;
  if (spec.tokenMatch !== "symbol" && spec.tokenMatch !== "address") {
    throw specError(`Unknown token_match ${JSON.stringify(spec.tokenMatch)} in the model card`, [
      'Expected: "symbol" or "address"',
    ]);
  }
  const bySymbol = new Map(spec.tokens.map((t) => [t.symbol, t]));
  const columns: Column[] = [];
  const modelAddresses = new Set<string>();
  const seen = new Set<string>();
  for (const name of spec.features) {
    if (seen.has(name)) throw specError(`Feature ${name} appears twice in the model card`, []);
    seen.add(name);
    if (Object.hasOwn(GENERIC_FEATURES, name)) {
      columns.push({
        name,
        source: "generic",
        slot: GENERIC_FEATURES[name as keyof typeof GENERIC_FEATURES],
      });
      continue;
    }
    const m = TOKEN_FEATURE.exec(name);
    if (!m) {
      throw specError(`Unknown feature ${name} in the model card`, [
        `Expected: <SYMBOL>_transfers, <SYMBOL>_value or one of ${Object.keys(GENERIC_FEATURES).join(", ")}`,
      ]);
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
        `Fix: give { "symbol": "${symbol}", "address": "0x…" } in the model card's tokens`,
      ]);
    }
    const key = address.toLowerCase();
    modelAddresses.add(key);
    columns.push({ name, source: "token", key, field });
  }
  const result: CompiledSpec = {
    spec,
    columns,
    modelAddresses,
    needsFirstTx: columns.some((c) => c.source === "generic" && c.slot === "activePeriod"),
    named: recordFactory<number>(columns.map((c) => c.name)),
  };
  compiled.set(spec, result);
  return result;
}
