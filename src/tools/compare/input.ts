import { readFileSync } from "node:fs";
import { parseCsv } from "../../kernel/csv.js";
import { ValidationError } from "../../kernel/errors.js";
import type { KeptFinding } from "../stats/collect.js";
import type { CompareInput, CompareRow } from "./compare.js";

/** Columns of a feature CSV that are not features (ids, labels, earlier predictions). */
const ID_COLUMNS = new Set(["tx_hash", "hash"]);
const LABEL_COLUMN = "label";
const POSITIVE = new Set(["exploit", "attack", "true-positive", "anomaly", "anomalous", "1", "true"]);
const NEGATIVE = new Set(["normal", "benign", "false-positive", "0", "false"]);

function label(raw: string | undefined): boolean | undefined {
  const t = (raw ?? "").trim().toLowerCase();
  if (POSITIVE.has(t)) return true;
  if (NEGATIVE.has(t)) return false;
  return undefined;
}

/**
 * A feature CSV (`att stats --export-features`, `att simulate --rows`): every numeric column is
 * kept by name; `tx_hash`/`hash` give the row id, `label` (exploit/normal, 1/0,
 * true-positive/false-positive/benign) the label. Rows with a non-numeric cell in a column some
 * model needs fail later, naming the model; here a non-number is NaN.
 */
export function readCompareCsv(path: string): CompareInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ValidationError(`Cannot read ${path}.`, { code: "ATT_CSV_INVALID", cause: err });
  }
  const records = parseCsv(text);
  const header = (records[0] ?? []).map((h) => h.trim());
  if (!header.length || header.every((h) => h === "")) {
    throw new ValidationError(`${path}: empty file, expected a header row of column names.`, {
      code: "ATT_CSV_INVALID",
    });
  }
  const idCol = header.findIndex((h) => ID_COLUMNS.has(h));
  const labelCol = header.indexOf(LABEL_COLUMN);
  const rows: CompareRow[] = records.slice(1).flatMap((cells, r) => {
    if (cells.length === 1 && cells[0] === "") return [];
    const values = new Float64Array(header.length);
    header.forEach((_, c) => {
      const t = (cells[c] ?? "").trim();
      values[c] = t === "" ? NaN : Number(t);
    });
    const l = labelCol >= 0 ? label(cells[labelCol]) : undefined;
    return [
      {
        id: idCol >= 0 && cells[idCol] ? cells[idCol]! : `row ${r + 1}`,
        ...(l !== undefined ? { label: l } : {}),
        cells: values,
      },
    ];
  });
  return { source: path, columns: header, rows };
}

/**
 * The scored findings of a range as compare rows: the feature values each finding carries (the
 * exact inputs the score stage gave its model), in `features` order; INVALID findings and
 * findings without every feature are left out.
 */
export function findingsToInput(
  source: string,
  findings: Iterable<KeptFinding>,
  features: string[],
): CompareInput {
  const rows: CompareRow[] = [];
  for (const f of findings) {
    if (f.score === undefined || !f.features || f.features.length !== features.length) continue;
    rows.push({ id: f.txHash ?? `block ${f.blockNumber ?? "?"}`, cells: Float64Array.from(f.features) });
  }
  return { source, columns: features, rows };
}

/**
 * Labels from a file: an `att simulate --exploits-log` (one JSON object with a `hash` per
 * injected exploit: those are attacks, every other row is not), or a CSV with `tx_hash` and
 * `label` columns. Returns the labels by lower-case transaction hash and whether rows absent
 * from the file count as negatives.
 */
export function readLabels(path: string): { labels: Map<string, boolean>; othersNegative: boolean } {
  const text = readFileSync(path, "utf8");
  const labels = new Map<string, boolean>();
  if (text.trimStart().startsWith("{")) {
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const o = JSON.parse(line) as { hash?: unknown };
      if (typeof o.hash === "string") labels.set(o.hash.toLowerCase(), true);
    }
    return { labels, othersNegative: true };
  }
  const records = parseCsv(text);
  const header = (records[0] ?? []).map((h) => h.trim());
  const h = header.findIndex((x) => ID_COLUMNS.has(x));
  const l = header.indexOf(LABEL_COLUMN);
  if (h < 0 || l < 0) {
    throw new ValidationError(`${path}: a labels CSV needs tx_hash and label columns.`, {
      code: "ATT_CSV_INVALID",
      details: [`Got: ${header.join(", ")}`],
    });
  }
  for (const cells of records.slice(1)) {
    const v = label(cells[l]);
    if (cells[h] && v !== undefined) labels.set(cells[h]!.toLowerCase(), v);
  }
  return { labels, othersNegative: false };
}

/** Sets each row's label from `readLabels` (by its id, a transaction hash). */
export function applyLabels(input: CompareInput, l: ReturnType<typeof readLabels>): void {
  for (const row of input.rows) {
    const v = l.labels.get(row.id.toLowerCase());
    if (v !== undefined) row.label = v;
    else if (l.othersNegative) row.label = false;
  }
}
