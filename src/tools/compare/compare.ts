import type { Model } from "../../model/index.js";
import { ValidationError } from "../../kernel/errors.js";
import { precisionRecall } from "../labels/metrics.js";
import { jaccard, spearman, thresholdForRate } from "./metrics.js";

/** One transaction to score: its id, its feature values by column, and its label when known. */
export interface CompareRow {
  id: string;
  /** True = an attack (exploit / true-positive verdict), false = not, undefined = unknown. */
  label?: boolean;
  cells: Float64Array;
}

/** Transactions to score with every model: named columns, one cell per column and row. */
export interface CompareInput {
  /** What the rows are (the CSV path, or the topic and time range). */
  source: string;
  columns: string[];
  rows: CompareRow[];
}

export interface ModelSide {
  version: string;
  dir: string;
  threshold: number;
  /** The card's training anomaly rate at its threshold, when the card has one. */
  trainingRate: number | null;
  scored: number;
  anomalies: number;
  rate: number;
  /** rate / trainingRate: 1 = production behaves as training did. */
  rateRatio: number | null;
  /**
   * With labels: the anomaly rate of the rows not labelled as attacks, and its ratio to the
   * training rate — the like-for-like figure when training left the attacks out (retrain does).
   */
  normalRate: number | null;
  normalRateRatio: number | null;
  /** With labels: at the model's threshold. */
  precision: number | null;
  recall: number | null;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** The threshold that would flag `target.rate` of these rows. */
  target: { rate: number; threshold: number; achieved: number } | null;
}

export interface ModelPair {
  a: string;
  b: string;
  /** |flagged by both| / |flagged by either|. */
  jaccard: number | null;
  spearman: number | null;
  both: number;
  onlyA: number;
  onlyB: number;
}

export interface FlipSide {
  version: string;
  score: number;
  flagged: boolean;
  explanation: { feature: string; value: number; contribution: number }[];
}

/** A transaction one model flags and another does not, with both models' explanations. */
export interface Flip {
  id: string;
  label?: boolean;
  sides: FlipSide[];
}

export interface CompareReport {
  source: string;
  rows: number;
  labelled: number;
  positives: number;
  models: ModelSide[];
  pairs: ModelPair[];
  /** Flipped transactions (largest score gap first), at most `maxFlips`; `flipCount` counts all. */
  flips: Flip[];
  flipCount: number;
  /** Score histogram of every model over common bins. */
  histogram: { edges: number[]; counts: number[][] };
}

export interface CompareOptions {
  /** Target anomaly rate for the "threshold that would reach it" column; default each model's training rate. */
  targetRate?: number;
  maxFlips?: number;
  topK?: number;
  bins?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Scores per model per row (row order of the input). */
async function scoreAll(
  models: readonly Model[],
  input: CompareInput,
  onProgress?: (done: number, total: number) => void,
): Promise<{ scores: Float64Array[]; flagged: boolean[][]; matrices: Float32Array[] }> {
  const n = input.rows.length;
  const col = new Map(input.columns.map((c, i) => [c, i]));
  const scores: Float64Array[] = [];
  const flagged: boolean[][] = [];
  const matrices: Float32Array[] = [];
  const total = n * models.length;
  let done = 0;
  for (const m of models) {
    const missing = m.features.filter((f) => !col.has(f));
    if (missing.length) {
      throw new ValidationError(`Model ${m.version} needs features that the input does not have.`, {
        code: "ATT_CSV_INVALID",
        details: [
          `Got: ${input.source} without ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ` (+${missing.length - 8})` : ""}`,
          "Expected: every feature of every compared model (models compared on one input share a feature set).",
        ],
      });
    }
    const idx = m.features.map((f) => col.get(f)!);
    const k = idx.length;
    const mat = new Float32Array(n * k);
    for (let r = 0; r < n; r++) {
      const cells = input.rows[r]!.cells;
      for (let j = 0; j < k; j++) mat[r * k + j] = cells[idx[j]!]!;
    }
    const out = new Float64Array(n);
    const flags = new Array<boolean>(n).fill(false);
    const chunk = 2048;
    for (let s = 0; s < n; s += chunk) {
      const e = Math.min(n, s + chunk);
      const batch = Array.from({ length: e - s }, (_, i) => mat.subarray((s + i) * k, (s + i + 1) * k));
      // scoreBatch, not scoreRows: rows near the threshold are re-scored in float64 as the score
      // stage does, so that a compared prediction is the one production would make.
      const outcomes = await m.scoreBatch(batch);
      outcomes.forEach((o, i) => {
        if (!o.ok) {
          throw new ValidationError(`Model ${m.version} cannot score row ${input.rows[s + i]!.id}.`, {
            code: o.error.code,
            details: [o.error.message],
          });
        }
        out[s + i] = o.score;
        flags[s + i] = o.anomalous;
      });
      done += e - s;
      onProgress?.(done, total);
    }
    scores.push(out);
    flagged.push(flags);
    matrices.push(mat);
  }
  return { scores, flagged, matrices };
}

/**
 * Scores every row with every model and puts the results side by side: anomaly rate against
 * each card's training rate, overlap of the flagged sets (Jaccard), Spearman rank correlation,
 * the transactions that flip with both models' explanations, a common score histogram and —
 * for labelled rows — precision, recall and the threshold that would reach a target rate.
 */
export async function compareModels(
  models: readonly Model[],
  input: CompareInput,
  opts: CompareOptions = {},
): Promise<CompareReport> {
  if (models.length < 2) throw new ValidationError("att model compare needs at least two models.");
  const n = input.rows.length;
  const { scores, flagged, matrices } = await scoreAll(models, input, opts.onProgress);
  const labelled = input.rows.filter((r) => r.label !== undefined);
  const labelIdx = input.rows.flatMap((r, i) => (r.label !== undefined ? [i] : []));
  const positives = labelled.filter((r) => r.label).length;

  const sides: ModelSide[] = models.map((m, i) => {
    const anomalies = flagged[i]!.filter(Boolean).length;
    const rate = n ? anomalies / n : 0;
    const trainingRate = m.card.training?.anomaly_rate ?? null;
    const pr = precisionRecall(
      labelIdx.map((r) => ({ flagged: flagged[i]![r]!, positive: input.rows[r]!.label! })),
    );
    let normals = 0;
    let normalFlagged = 0;
    input.rows.forEach((row, r) => {
      if (row.label === true) return;
      normals++;
      if (flagged[i]![r]) normalFlagged++;
    });
    const normalRate = labelled.length && normals ? normalFlagged / normals : null;
    const targetRate = opts.targetRate ?? trainingRate;
    const t = targetRate !== null ? thresholdForRate(scores[i]!, targetRate) : null;
    return {
      version: m.version,
      dir: m.dir,
      threshold: m.threshold,
      trainingRate,
      scored: n,
      anomalies,
      rate,
      rateRatio: trainingRate ? rate / trainingRate : null,
      normalRate,
      normalRateRatio: normalRate !== null && trainingRate ? normalRate / trainingRate : null,
      precision: labelled.length ? pr.precision : null,
      recall: labelled.length ? pr.recall : null,
      truePositives: pr.tp,
      falsePositives: pr.fp,
      falseNegatives: pr.fn,
      target: t && targetRate !== null ? { rate: targetRate, ...t } : null,
    };
  });

  const pairs: ModelPair[] = [];
  for (let a = 0; a < models.length; a++)
    for (let b = a + 1; b < models.length; b++) {
      let both = 0;
      let onlyA = 0;
      let onlyB = 0;
      for (let r = 0; r < n; r++) {
        const fa = flagged[a]![r]!;
        const fb = flagged[b]![r]!;
        if (fa && fb) both++;
        else if (fa) onlyA++;
        else if (fb) onlyB++;
      }
      pairs.push({
        a: models[a]!.version,
        b: models[b]!.version,
        jaccard: jaccard(flagged[a]!, flagged[b]!),
        spearman: spearman(scores[a]!, scores[b]!),
        both,
        onlyA,
        onlyB,
      });
    }

  // Flips: rows on which the models disagree, largest score gap relative to each threshold first.
  const flipRows: { r: number; gap: number }[] = [];
  for (let r = 0; r < n; r++) {
    const f = flagged.map((x) => x[r]!);
    if (f.every(Boolean) || !f.some(Boolean)) continue;
    const margins = models.map((m, i) => scores[i]![r]! - m.threshold);
    flipRows.push({ r, gap: Math.max(...margins) - Math.min(...margins) });
  }
  flipRows.sort((x, y) => y.gap - x.gap || x.r - y.r);
  const topK = opts.topK ?? 3;
  const flips: Flip[] = flipRows.slice(0, opts.maxFlips ?? 20).map(({ r }) => {
    const row = input.rows[r]!;
    return {
      id: row.id,
      ...(row.label !== undefined ? { label: row.label } : {}),
      sides: models.map((m, i) => {
        const k = m.featureCount;
        const values = matrices[i]!.subarray(r * k, (r + 1) * k);
        return {
          version: m.version,
          score: scores[i]![r]!,
          flagged: flagged[i]![r]!,
          explanation: m.explain(values, topK).map((e) => ({
            feature: e.feature,
            value: e.value,
            contribution: e.contribution,
          })),
        };
      }),
    };
  });

  return {
    source: input.source,
    rows: n,
    labelled: labelled.length,
    positives,
    models: sides,
    pairs,
    flips,
    flipCount: flipRows.length,
    histogram: histogram(scores, opts.bins ?? 40),
  };
}

/** Counts of every model's scores over common equal-width bins spanning all of them. */
function histogram(scores: Float64Array[], bins: number): { edges: number[]; counts: number[][] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores)
    for (const v of s) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!Number.isFinite(lo)) return { edges: [], counts: scores.map(() => []) };
  if (hi === lo) hi = lo + 1e-6;
  const w = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * w);
  const counts = scores.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s) c[Math.min(bins - 1, Math.floor((v - lo) / w))]!++;
    return c;
  });
  return { edges, counts };
}
