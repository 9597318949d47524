import { join, resolve } from "node:path";
import { compileSpec } from "../features/spec.js";
import { ModelError } from "../kernel/errors.js";
import { parseCard, type ModelCard } from "./card.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";
import { readModelFile, readVerifiedFiles } from "./files.js";
import { expectedPathLength, parseForest, probeRows, scoreFromPathLength, type Forest } from "./forest.js";
import { CARD_FORMAT_V2 } from "./card-v2.js";
import { kindMismatch, loadEstimatorModel } from "./load-v2.js";
import { createModel, type Model } from "./model.js";
import {
  checkOnnxGraph,
  createSession,
  DEFAULT_SESSION_SETTINGS,
  summarizeOnnx,
  type SessionSettings,
} from "./session.js";

export interface LoadModelOptions {
  session?: Partial<SessionSettings>;
  /** Overrides the card's threshold (ATT_MODEL_THRESHOLD). */
  threshold?: number;
  /** Default top-k of `model.explain(row)` (default 5). */
  explainTopK?: number;
  /** Most rows per onnxruntime call (ATT_MODEL_MAX_BATCH_SIZE, default 512); bigger batches are split. */
  maxBatchSize?: number;
  /**
   * Refuse features the worker's feature extractor cannot compute (default true). `att model
   * score` turns it off to score CSVs of models trained on other columns.
   */
  requireKnownFeatures?: boolean;
}

/** Reads and checks model.json without touching the other files (`att model list`). */
export async function readCard(dir: string): Promise<ModelCard> {
  const path = join(dir, "model.json");
  const bytes = await readModelFile(dir, "model.json");
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw modelError(MODEL_ERROR_CODES.invalidCard, `Model card ${path} is not valid JSON.`, { cause: err });
  }
  return parseCard(raw, path);
}

/**
 * Loads a model folder and refuses anything it does not fully understand, with a ModelError
 * whose code says why: card format, score transform, feature list, file hashes, ONNX
 * opsets/inputs/outputs, forest.json / explain.json structure, and finally that model.onnx and
 * forest.json (or explain.json) score probe rows alike. att-model/1 and att-model/2
 * IsolationForests take the compact forest path; every other att-model/2 kind load-v2.ts.
 *
 * @example
 *   const model = await loadModel(resolveModelDir("models/registry"), { session: { intraOpThreads: 1 } });
 *   const [r] = await model.scoreBatch([row]); // { ok: true, score, anomalous, pathLength, modelVersion }
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  dir = resolve(dir);
  const card = await readCard(dir);
  if (options.threshold !== undefined) checkThresholdOverride(card, options.threshold);
  const files = await readVerifiedFiles(dir, card);
  if (options.requireKnownFeatures ?? true) checkFeatureVocabulary(card, dir);
  if (card.format === CARD_FORMAT_V2 && card.estimator.kind !== "isolation_forest")
    return loadEstimatorModel(dir, card, files, options);
  if (card.format === CARD_FORMAT_V2 && card.score.kind !== "anomaly_score")
    throw kindMismatch(dir, card, "anomaly_score");

  const forestPath = join(dir, "forest.json");
  let forestDoc: unknown;
  try {
    forestDoc = JSON.parse(files.get("forest.json")!.toString("utf8"));
  } catch (err) {
    throw modelError(MODEL_ERROR_CODES.invalidForest, `Invalid forest file ${forestPath}: not JSON.`, {
      cause: err,
    });
  }
  const forest = parseForest(forestDoc, forestPath);
  checkForestAgainstCard(forest, card, forestPath);

  const onnxPath = join(dir, "model.onnx");
  const onnxBytes = files.get("model.onnx")!;
  checkOnnxGraph(summarizeOnnx(onnxBytes, onnxPath), card, onnxPath);
  const settings = { ...DEFAULT_SESSION_SETTINGS, ...options.session };
  const session = await createSession(onnxBytes, settings, onnxPath);
  const { Tensor } = await import("onnxruntime-node");
  const model = createModel({
    dir,
    card,
    forest,
    session,
    Tensor,
    threshold: options.threshold ?? card.threshold,
    explainTopK: options.explainTopK ?? 5,
    maxBatchSize: options.maxBatchSize ?? 512,
    ...(card.format === CARD_FORMAT_V2 ? { labels: card.score.labels } : {}),
  });
  try {
    await checkOnnxMatchesForest(model, forest, dir);
  } catch (err) {
    await model.close();
    throw err;
  }
  return model;
}

/** An overriding threshold (ATT_MODEL_THRESHOLD, --threshold) must lie where the card's score does. */
function checkThresholdOverride(card: ModelCard, threshold: number): void {
  const kind = card.format === CARD_FORMAT_V2 ? card.score.kind : "anomaly_score";
  if (kind === "decision_function" || (threshold >= 0 && threshold <= 1)) return;
  throw modelError(
    MODEL_ERROR_CODES.invalidCard,
    `Threshold ${threshold} cannot apply to model ${card.version}.`,
    {
      details: [
        `Got: ATT_MODEL_THRESHOLD=${threshold}`,
        `Expected: a number in [0, 1] (the model's score is ${kind === "probability" ? "a probability" : "an anomaly score in (0, 1]"})`,
        "Fix: set ATT_MODEL_THRESHOLD between 0 and 1, or unset it to use the card's threshold.",
      ],
    },
  );
}

/** The features the feature extractor can compute (src/features/spec.ts) are the only known ones. */
function checkFeatureVocabulary(card: ModelCard, dir: string): void {
  try {
    compileSpec({ features: card.features, tokenMatch: card.token_match, tokens: card.tokens });
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    throw modelError(
      MODEL_ERROR_CODES.unknownFeatures,
      `Model ${dir} uses features this worker cannot compute.`,
      {
        details: [err.shortMessage, ...err.details],
      },
    );
  }
}

function checkForestAgainstCard(forest: Forest, card: ModelCard, path: string): void {
  const problems: string[] = [];
  if (forest.nFeatures !== card.features.length)
    problems.push(`n_features ${forest.nFeatures}, the card lists ${card.features.length} features`);
  else if (forest.features && forest.features.join("\n") !== card.features.join("\n")) {
    const i = forest.features.findIndex((f, k) => f !== card.features[k]);
    problems.push(
      `feature ${i} is ${JSON.stringify(forest.features[i])} here and ${JSON.stringify(card.features[i])} in the card`,
    );
  }
  if (card.n_estimators !== undefined && card.n_estimators !== forest.nTrees)
    problems.push(`${forest.nTrees} trees, the card says ${card.n_estimators}`);
  if (card.max_samples !== undefined && card.max_samples !== forest.maxSamples)
    problems.push(`max_samples ${forest.maxSamples}, the card says ${card.max_samples}`);
  if (problems.length) {
    const code =
      forest.nFeatures !== card.features.length
        ? MODEL_ERROR_CODES.unknownFeatures
        : MODEL_ERROR_CODES.invalidForest;
    throw modelError(code, `Forest file ${path} disagrees with its model card.`, { details: problems });
  }
}

/** model.onnx and forest.json must be the same forest: both hashes can match a card built wrongly. */
async function checkOnnxMatchesForest(model: Model, forest: Forest, dir: string): Promise<void> {
  const rows = probeRows(forest);
  const results = await model.scoreBatch(rows);
  const worst = results.reduce(
    (acc, r, i) => {
      const exact = scoreFromPathLength(forest, expectedPathLength(forest, rows[i]!));
      const diff = r.ok ? Math.abs(r.score - exact) : Infinity;
      return diff > acc.diff ? { diff, row: i, onnx: r.ok ? r.score : NaN, exact } : acc;
    },
    { diff: 0, row: -1, onnx: 0, exact: 0 },
  );
  if (worst.diff > 1e-5) {
    throw modelError(
      MODEL_ERROR_CODES.invalidForest,
      `model.onnx and forest.json in ${dir} are not the same model.`,
      {
        details: [
          `Probe row ${worst.row}: ONNX score ${worst.onnx}, forest.json score ${worst.exact}`,
          "Fix: re-export the model folder.",
        ],
      },
    );
  }
}
