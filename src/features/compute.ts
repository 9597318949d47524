import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { compareCodePoints, normalizedTransferValue } from "./python-number.js";
import { compileSpec } from "./spec.js";
import { FeatureErrorCodes, type FeatureContext, type FeatureResult, type FeatureSpec } from "./types.js";

/**
 * The features of one transaction a model card lists: the ATT bot's (`get_features` in the bot's
 * data_processing.py) and the transaction-level ones:
 *
 * - per model token: `<SYMBOL>_transfers` (count) and `<SYMBOL>_value` (sum over transfers of
 *   `round(value / 10**decimals, 3)`, in log order, as Python floats);
 * - `transfer_counts`: every Transfer log, counted or not;
 * - `account_active_period_in_minutes`: (block timestamp − sender's first tx timestamp) / 60;
 * - `max_single_token_transfers_count/_value`: the token that first reached the highest count,
 *   and its value sum; `maxSingleTokenName` is its name;
 * - `tokens_type_counts`: distinct tokens counted (by "<name>-<symbol>" when matching by symbol,
 *   by contract when matching by address);
 * - the transaction-level features of src/features/transaction.ts (the message alone).
 *
 * Only the card's columns are computed: without a column that needs token metadata the per-token
 * pass is skipped (then `tokenTypes` is [] and `maxSingleTokenName` ""), and `ctx.tokens` may be
 * empty. A token without decimals (not an ERC-20, or the provider could not tell) is skipped for
 * every feature that needs metadata, as the bot skipped it. Missing enrichment, a negative active
 * period or a value that does not fit the model's float32 input give `{ ok: false, code, reason }`:
 * never a guessed row.
 *
 * @example
 *   const r = computeFeatures(tx, { tokens, firstTxTimestamp }, card);
 *   if (r.ok) rows.set(r.values, i * card.features.length);
 */
export function computeFeatures(tx: TokenTransferTx, ctx: FeatureContext, spec: FeatureSpec): FeatureResult {
  const plan = compileSpec(spec);
  const byAddress = spec.tokenMatch === "address";
  const counts = new Map<string, number>();
  const sums = new Map<string, number>();
  const typeLabels = new Map<string, string>(); // type key -> "<name>-<symbol>"
  let maxName = "";
  let maxCount = 0;
  let maxValue = 0;

  // Only a model using token metadata pays for the per-token pass (and needs the metadata).
  if (plan.needsTokens)
    for (const t of tx.transfers) {
      const meta = ctx.tokens.get(t.token);
      if (!meta) {
        return {
          ok: false,
          code: FeatureErrorCodes.enrichmentMissing,
          reason: `Token metadata of ${t.token} (log ${t.logIndex}) was not resolved`,
        };
      }
      if (meta.decimals === null) continue;
      const symbol = meta.symbol ?? "NO_SYMBOL";
      const name = meta.name ?? "NO_NAME";
      const value = normalizedTransferValue(t.value, meta.decimals);
      const key = byAddress ? t.token : symbol;
      const count = (counts.get(key) ?? 0) + 1;
      const sum = (sums.get(key) ?? 0) + value;
      counts.set(key, count);
      sums.set(key, sum);
      const label = `${name}-${symbol}`;
      typeLabels.set(byAddress ? t.token : label, label);
      if (count > maxCount) {
        maxName = name;
        maxCount = count;
        maxValue = sum;
      }
    }

  let activePeriod = 0;
  if (plan.needsFirstTx) {
    if (ctx.firstTxTimestamp === null) {
      return {
        ok: false,
        code: FeatureErrorCodes.firstTxNotFound,
        reason: `No transaction of sender ${tx.from} is known to the first-transaction provider (is it lagging behind block ${tx.blockNumber}?)`,
      };
    }
    activePeriod = (tx.blockTimestamp - ctx.firstTxTimestamp) / 60;
    if (activePeriod < 0) {
      return {
        ok: false,
        code: FeatureErrorCodes.negativeActivePeriod,
        reason: `Sender ${tx.from}'s first transaction (${ctx.firstTxTimestamp}) is later than this one (${tx.blockTimestamp}): active period ${activePeriod.toFixed(2)} min`,
      };
    }
  }

  const generic = {
    transferCount: tx.transfers.length,
    activePeriod,
    maxCount,
    maxValue,
    tokenTypeCount: typeLabels.size,
  };
  const values = new Float32Array(plan.columns.length);
  const raw = new Float64Array(plan.columns.length);
  for (let i = 0; i < plan.columns.length; i++) {
    const col = plan.columns[i]!;
    const v =
      col.source === "generic"
        ? generic[col.slot]
        : col.source === "tx"
          ? col.compute(tx)
          : col.field === "transfers"
            ? (counts.get(col.key) ?? 0)
            : (sums.get(col.key) ?? 0);
    if (!Number.isFinite(Math.fround(v))) {
      return {
        ok: false,
        code: FeatureErrorCodes.notFinite,
        reason: `Feature ${col.name} = ${v} is not a finite float32 (the model's input type)`,
      };
    }
    values[i] = v;
    raw[i] = v;
  }
  return {
    ok: true,
    values,
    named: plan.named(raw),
    tokenTypes: tokenTypesOf(typeLabels),
    maxSingleTokenName: maxName,
    transferCount: tx.transfers.length,
  };
}

/** Sorted labels; when matching by address, two contracts sharing a label stay distinguishable. */
function tokenTypesOf(typeLabels: Map<string, string>): string[] {
  const uses = new Map<string, number>();
  for (const label of typeLabels.values()) uses.set(label, (uses.get(label) ?? 0) + 1);
  const out: string[] = [];
  for (const [key, label] of typeLabels) out.push(uses.get(label)! > 1 ? `${label} (${key})` : label);
  return out.sort(compareCodePoints);
}
