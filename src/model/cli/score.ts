import { readFile } from "node:fs/promises";
import { ValidationError } from "../../kernel/errors.js";
import { readFeatureRows } from "../csv.js";
import type { Attribution } from "../explain.js";
import { loadModel, type LoadModelOptions } from "../load.js";

export interface ScoreCsvOptions {
  dir: string;
  input: string;
  explain: boolean;
  topK: number;
  load?: LoadModelOptions;
}

export interface ScoredLine {
  row: number;
  id?: string;
  score?: number;
  /** ANOMALY / NORMAL (the ATT bot's words), or the card's own label names. */
  prediction?: string;
  /** att-model/2 only: what `score` is (anomaly_score, probability, decision_function). */
  score_kind?: string;
  model_version: string;
  explanations?: Attribution[];
  error?: { code: string; message: string };
}

/**
 * Scores every row of a feature CSV; one JSON object per row goes to `write`, in input order.
 * A row that cannot be scored (a cell that is no number, NaN, Infinity) gets an `error` object
 * and the others are scored anyway. Returns how many rows were scored and how many were not.
 */
export async function scoreCsv(
  opts: ScoreCsvOptions,
  write: (line: string) => void,
): Promise<{ scored: number; invalid: number }> {
  let text: string;
  try {
    text = await readFile(opts.input, "utf8");
  } catch (err) {
    throw new ValidationError(`Cannot read ${opts.input}.`, { code: "ATT_CSV_INVALID", cause: err });
  }
  const model = await loadModel(opts.dir, { requireKnownFeatures: false, ...opts.load });
  try {
    const rows = readFeatureRows(text, model.features, opts.input);
    const scorable = rows.filter((r) => r.problems.length === 0);
    const outcomes = await model.scoreBatch(scorable.map((r) => r.values));
    const byRow = new Map(scorable.map((r, i) => [r.row, outcomes[i]!]));
    // The words findings use: ANOMALY / NORMAL for the default labels, else the card's names.
    const v2 = model.card.format === "att-model/2";
    const positive = model.labels.positive === "ANOMALOUS" ? "ANOMALY" : model.labels.positive;
    const negative = model.labels.negative;
    let scored = 0;
    for (const r of rows) {
      const base = { row: r.row, ...(r.id ? { id: r.id } : {}), model_version: model.version };
      const o = byRow.get(r.row);
      let line: ScoredLine;
      if (!o)
        line = {
          ...base,
          error: { code: "ATT_CSV_INVALID", message: `row ${r.row}: ${r.problems.join("; ")}` },
        };
      else if (!o.ok) line = { ...base, error: { code: o.error.code, message: o.error.message } };
      else {
        scored++;
        line = {
          ...base,
          score: o.score,
          prediction: o.anomalous ? positive : negative,
          ...(v2 ? { score_kind: model.scoreKind } : {}),
        };
        if (opts.explain) line.explanations = model.explain(r.values, opts.topK);
      }
      write(JSON.stringify(line));
    }
    return { scored, invalid: rows.length - scored };
  } finally {
    await model.close();
  }
}
