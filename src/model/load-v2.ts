import { join } from "node:path";
import type { CardV2, ScoreKind } from "./card-v2.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";
import { createEstimatorModel, exactScore } from "./estimator-model.js";
import { parseExplain, type ExplainModel } from "./explain-json.js";
import { probeRows } from "./forest.js";
import type { LoadModelOptions } from "./load.js";
import type { Model } from "./model.js";
import { checkOnnxGraph, createSession, DEFAULT_SESSION_SETTINGS, summarizeOnnx } from "./session.js";

/**
 * Probe rows may differ between model.onnx (float32) and explain.json (float64) by at most
 * PROBE_TOLERANCE · scale, scale = max(1, |score|) — for a linear model also Σ_j |coef_j x_j|,
 * the size of float32's rounding in a dot product. Far above float32 rounding, far below any
 * difference two different models give.
 */
export const PROBE_TOLERANCE = 1e-5;

/** The score kind a card's estimator kind can have, and what explain.json must look like for it. */
export function kindMismatch(dir: string, card: CardV2, expected: ScoreKind | string): Error {
  return modelError(
    MODEL_ERROR_CODES.invalidCard,
    `Model card ${join(dir, "model.json")} gives a ${card.estimator.kind} the score kind ${card.score.kind}.`,
    {
      details: [
        `Got: score.kind ${JSON.stringify(card.score.kind)}`,
        `Expected: ${expected}`,
        "Fix: re-import the model with `att model import`.",
      ],
    },
  );
}

function explainMismatch(path: string, what: string, details: string[] = []): Error {
  return modelError(
    MODEL_ERROR_CODES.invalidExplain,
    `Explain file ${path} disagrees with its model card: ${what}.`,
    {
      details: [...details, "Fix: re-import the model with `att model import`."],
    },
  );
}

/** explain.json's shape must fit the card: same features, and the link/space the estimator kind implies. */
function checkExplainAgainstCard(exact: ExplainModel, card: CardV2, path: string): void {
  if (exact.features.join("\n") !== card.features.join("\n")) {
    const i = exact.features.findIndex((f, k) => f !== card.features[k]);
    throw explainMismatch(
      path,
      `feature ${i} is ${JSON.stringify(exact.features[i])} here and ${JSON.stringify(card.features[i])} in the card`,
    );
  }
  const linear = card.estimator.kind === "logistic_regression";
  if (linear !== (exact.kind === "linear"))
    throw explainMismatch(path, `kind "${exact.kind}" for a ${card.estimator.kind}`);
  const space = exact.link === "identity" ? "probability" : "margin";
  if (card.explain!.space !== space)
    throw explainMismatch(
      path,
      `link "${exact.link}" explains the ${space}, the card says ${card.explain!.space}`,
    );
  if (card.score.kind === "decision_function" && exact.link !== "logistic")
    throw explainMismatch(
      path,
      `a decision function needs the margin of a logistic link, got "${exact.link}"`,
    );
  const method = exact.kind === "linear" ? "linear_exact" : "tree_shap_path_dependent";
  if (card.explain!.method !== method)
    throw explainMismatch(path, `method ${card.explain!.method} for ${exact.kind}, expected ${method}`);
}

/** Rows for a linear model: zeros, the reference, and rows around it in units of max(1, |reference_j|). */
function linearProbeRows(exact: Extract<ExplainModel, { kind: "linear" }>): Float32Array[] {
  const rows = [new Float32Array(exact.nFeatures), Float32Array.from(exact.reference)];
  for (let k = 1; k <= 8; k++) {
    rows.push(
      Float32Array.from(exact.reference, (r, j) => r + (((j * 7 + k) % 5) - 2) * Math.max(1, Math.abs(r))),
    );
  }
  return rows;
}

function probeScale(exact: ExplainModel, row: Float32Array, score: number): number {
  let scale = Math.max(1, Math.abs(score));
  if (exact.kind === "linear") {
    let terms = Math.abs(exact.intercept);
    for (let j = 0; j < exact.nFeatures; j++) terms += Math.abs(exact.coef[j]! * row[j]!);
    scale = Math.max(scale, terms);
  }
  return scale;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** The smallest float32 above `t` (t finite). */
function float32Above(t: number): number {
  f32[0] = t;
  if (f32[0]! > t) return f32[0]!;
  if (f32[0] === 0) return 1.401298464324817e-45;
  i32[0] = f32[0]! > 0 ? i32[0]! + 1 : i32[0]! - 1;
  return f32[0]!;
}

/**
 * Rows on the far side of the splits: every feature at the smallest float32 above one of its
 * thresholds. A float32 input between a float64 threshold rounded down and the same threshold
 * rounded to nearest goes right in scikit-learn and left in a graph whose thresholds were
 * rounded to nearest: these rows find such a graph.
 */
function justAboveRows(trees: Extract<ExplainModel, { kind: "trees" }>, count = 16): Float32Array[] {
  const byFeature: number[][] = Array.from({ length: trees.nFeatures }, () => []);
  for (let i = 0; i < trees.feature.length; i++) {
    const f = trees.feature[i]!;
    if (f >= 0) byFeature[f]!.push(trees.threshold[i]!);
  }
  return Array.from({ length: count }, (_, k) => {
    const row = new Float32Array(trees.nFeatures);
    byFeature.forEach((ts, j) => {
      if (ts.length) row[j] = float32Above(ts[(k * 11 + j * 5) % ts.length]!);
    });
    return row;
  });
}

/** model.onnx and explain.json must be the same model: probe rows through both. */
async function checkOnnxMatchesExplain(
  model: Model,
  card: CardV2,
  exact: ExplainModel,
  dir: string,
): Promise<void> {
  const rows =
    exact.kind === "trees" ? [...probeRows(exact), ...justAboveRows(exact)] : linearProbeRows(exact);
  const results = await model.scoreBatch(rows);
  let worst = { excess: 0, row: -1, onnx: 0, exact: 0 };
  results.forEach((r, i) => {
    const want = exactScore(card, exact, rows[i]!);
    const got = r.ok ? r.score : NaN;
    const excess = Math.abs(got - want) / probeScale(exact, rows[i]!, want);
    if (!(excess <= worst.excess))
      worst = { excess: Number.isNaN(excess) ? Infinity : excess, row: i, onnx: got, exact: want };
  });
  if (worst.excess > PROBE_TOLERANCE) {
    throw modelError(
      MODEL_ERROR_CODES.invalidExplain,
      `model.onnx and explain.json in ${dir} are not the same model.`,
      {
        details: [
          `Probe row ${worst.row}: ONNX score ${worst.onnx}, explain.json score ${worst.exact} (float64)`,
          `Expected: |difference| <= ${PROBE_TOLERANCE} · max(1, |score|)`,
          "Fix: re-import the model with `att model import`.",
        ],
      },
    );
  }
}

/** Loads an att-model/2 folder of any kind but isolation_forest (load.ts checked card, hashes and features). */
export async function loadEstimatorModel(
  dir: string,
  card: CardV2,
  files: Map<string, Buffer>,
  options: LoadModelOptions,
): Promise<Model> {
  const kind = card.estimator.kind;
  const expected: ScoreKind[] =
    kind === "logistic_regression" ? ["probability", "decision_function"] : ["probability"];
  if (!expected.includes(card.score.kind)) throw kindMismatch(dir, card, expected.join(" or "));

  let exact: ExplainModel | null = null;
  if (card.explain) {
    const path = join(dir, card.explain.file);
    let doc: unknown;
    try {
      doc = JSON.parse(files.get(card.explain.file)!.toString("utf8"));
    } catch (err) {
      throw modelError(MODEL_ERROR_CODES.invalidExplain, `Invalid explain file ${path}: not JSON.`, {
        cause: err,
      });
    }
    exact = parseExplain(doc, path);
    checkExplainAgainstCard(exact, card, path);
  }

  const onnxPath = join(dir, "model.onnx");
  const onnxBytes = files.get("model.onnx")!;
  checkOnnxGraph(summarizeOnnx(onnxBytes, onnxPath), card, onnxPath);
  const session = await createSession(
    onnxBytes,
    { ...DEFAULT_SESSION_SETTINGS, ...options.session },
    onnxPath,
  );
  const { Tensor } = await import("onnxruntime-node");
  const model = createEstimatorModel({
    dir,
    card,
    exact,
    session,
    Tensor,
    threshold: options.threshold ?? card.score.threshold,
    explainTopK: options.explainTopK ?? 5,
    maxBatchSize: options.maxBatchSize ?? 512,
  });
  try {
    if (exact) await checkOnnxMatchesExplain(model, card, exact, dir);
  } catch (err) {
    await model.close();
    throw err;
  }
  return model;
}
