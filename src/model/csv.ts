import { parseCsv } from "../kernel/csv.js";
import { ValidationError } from "../kernel/errors.js";

/**
 * Feature rows from a CSV with a header of column names, for `att model score`: columns are
 * matched to the model's features by name, absent feature columns are 0, columns that are
 * neither features nor known bookkeeping columns are an error (a typo would otherwise score
 * silently as 0).
 */

/** Bookkeeping columns of the ATT notebooks and exports (model-tools/att_model/data.py). */
export const NON_FEATURE_COLUMNS: ReadonlySet<string> = new Set([
  "tx_hash",
  "hash",
  "from_address",
  "block_timestamp",
  "block_number",
  "token_types",
  "scores",
  "score",
  "prediction",
  "label",
]);

/** Names the training notebook used for features that were renamed later (either direction). */
export const FEATURE_ALIASES: Readonly<Record<string, string>> = {
  account_age_in_minutes: "account_active_period_in_minutes",
  account_active_period_in_minutes: "account_age_in_minutes",
  max_single_token_transfers: "max_single_token_transfers_count",
  max_single_token_transfers_count: "max_single_token_transfers",
};

export interface CsvRow {
  /** 1-based data row number (the header is row 0). */
  row: number;
  /** Line-independent id when the CSV has a tx_hash or hash column. */
  id?: string;
  values: Float32Array;
  /** Cells that are not numbers, by column; the row cannot be scored. */
  problems: string[];
}

/** Python's float() spellings of non-finite values, so that a NaN cell reaches the model's own check. */
function parseCell(raw: string): number | undefined {
  const t = raw.trim();
  if (t === "") return undefined;
  const lower = t.toLowerCase();
  if (lower === "nan" || lower === "+nan" || lower === "-nan") return NaN;
  if (["inf", "+inf", "infinity", "+infinity"].includes(lower)) return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * Maps a CSV onto `features`. Throws ATT_CSV_UNKNOWN_COLUMNS listing every column that is not
 * a feature (nor an alias of one, nor a bookkeeping column).
 */
export function readFeatureRows(text: string, features: readonly string[], path: string): CsvRow[] {
  const records = parseCsv(text);
  const header = records[0];
  if (!header || header.every((h) => h.trim() === "")) {
    throw new ValidationError(`${path}: empty file, expected a header row of column names.`, {
      code: "ATT_CSV_INVALID",
    });
  }
  const index = new Map(features.map((f, i) => [f, i]));
  const columnTarget: (number | undefined)[] = [];
  const unknown: string[] = [];
  const claimed = new Map<number, string>();
  let idColumn = -1;
  header.forEach((rawName, c) => {
    const name = rawName.trim();
    if (name === "tx_hash" || (name === "hash" && idColumn < 0)) idColumn = c;
    let target = index.get(name);
    if (target === undefined && FEATURE_ALIASES[name] !== undefined)
      target = index.get(FEATURE_ALIASES[name]!);
    if (target === undefined) {
      if (!NON_FEATURE_COLUMNS.has(name)) unknown.push(name);
    } else if (claimed.has(target)) {
      throw new ValidationError(
        `${path}: columns ${claimed.get(target)} and ${name} both give feature ${features[target]}.`,
        {
          code: "ATT_CSV_INVALID",
        },
      );
    } else claimed.set(target, name);
    columnTarget.push(target);
  });
  if (unknown.length) {
    throw new ValidationError(
      `${path}: ${unknown.length} column${unknown.length > 1 ? "s are" : " is"} not a feature of this model.`,
      {
        code: "ATT_CSV_UNKNOWN_COLUMNS",
        details: [
          `Unknown: ${unknown.join(", ")}`,
          `Model features: ${features.join(", ")}`,
          `Ignored bookkeeping columns: ${[...NON_FEATURE_COLUMNS].join(", ")}`,
        ],
      },
    );
  }
  return records.slice(1).map((cells, r) => {
    const values = new Float32Array(features.length);
    const problems: string[] = [];
    if (cells.length !== header.length)
      problems.push(`has ${cells.length} cells, the header has ${header.length}`);
    columnTarget.forEach((target, c) => {
      if (target === undefined) return;
      const v = parseCell(cells[c] ?? "");
      if (v === undefined)
        problems.push(`column ${header[c]!.trim()} is ${JSON.stringify(cells[c] ?? "")}, expected a number`);
      else values[target] = v;
    });
    return {
      row: r + 1,
      ...(idColumn >= 0 && cells[idColumn] ? { id: cells[idColumn] } : {}),
      values,
      problems,
    };
  });
}
