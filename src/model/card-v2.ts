import { z } from "zod";
import {
  cardFilesSchema,
  cardOnnxSchema,
  histogramSchema,
  parseCardSchema,
  PLAIN_NAME,
} from "./card-parts.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * The "att-model/2" card (issue 15, docs/model-formats.md): any estimator kind that
 * `att model import` accepts, converted to ONNX, with what its number means (`score`), the
 * parity report of the import (`parity`) and how its rows are explained (`explain`).
 */
export const CARD_FORMAT_V2 = "att-model/2";

export const ESTIMATOR_KINDS = [
  "isolation_forest",
  "random_forest",
  "extra_trees",
  "gradient_boosting",
  "hist_gradient_boosting",
  "logistic_regression",
] as const;
export type EstimatorKind = (typeof ESTIMATOR_KINDS)[number];

export const SCORE_KINDS = ["anomaly_score", "probability", "decision_function"] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** Label names stand in for ANOMALOUS / NORMAL in findings: upper-case letters, digits and _. */
const LABEL = /^[A-Z][A-Z0-9_]*$/;

const cardV2Schema = z.looseObject({
  format: z.literal(CARD_FORMAT_V2),
  version: z
    .string()
    .regex(PLAIN_NAME, "expected a version usable as a folder name (letters, digits, . _ -)"),
  created_at: z.string().optional(),
  features: z.array(z.string()),
  token_match: z.enum(["symbol", "address"]),
  tokens: z.array(
    z.looseObject({ symbol: z.string(), address: z.string().optional(), decimals: z.number().optional() }),
  ),
  estimator: z.looseObject({
    kind: z.enum(ESTIMATOR_KINDS),
    class: z.string().min(1),
    steps: z.array(z.looseObject({ name: z.string(), class: z.string() })),
    sklearn_version: z.string().regex(/^\d+\.\d+(\.\d+)?/, "expected a scikit-learn version x.y.z"),
    saved_as: z.enum(["pickle", "joblib", "skops", "onnx"]),
    positive_class: z.unknown().optional(),
  }),
  score: z.looseObject({
    kind: z.enum(SCORE_KINDS),
    output: z.literal("score"),
    threshold: z.number().refine(Number.isFinite, "expected a finite number"),
    labels: z.object({
      positive: z.string().regex(LABEL, "expected upper-case letters, digits and _ (e.g. ANOMALOUS)"),
      negative: z.string().regex(LABEL, "expected upper-case letters, digits and _ (e.g. NORMAL)"),
    }),
    description: z.string(),
  }),
  threshold: z.number(),
  parity: z
    .looseObject({
      rows: z.number().int().nonnegative(),
      source: z.string(),
      reference: z.string(),
      ours: z.string(),
      max_abs_diff: z.number(),
      max_rel_diff: z.number(),
      tolerance: z.looseObject({ rel: z.number().positive(), rule: z.string() }),
      prediction_mismatches: z.number().int(),
      passed: z.boolean(),
    })
    .nullable()
    .optional(),
  explain: z
    .looseObject({
      file: z.string().regex(PLAIN_NAME, "expected a plain file name inside the model folder"),
      method: z.enum(["tree_shap_path_dependent", "linear_exact"]),
      space: z.enum(["margin", "probability", "path_length"]),
    })
    .nullable(),
  explain_unavailable: z.string().optional(),
  n_estimators: z.number().int().positive().optional(),
  max_samples: z.number().int().positive().optional(),
  training: z
    .looseObject({
      n_rows: z.number().nullable().optional(),
      anomaly_rate: z.number().nullable().optional(),
      positive_rate: z.number().nullable().optional(),
      score_quantiles: z.record(z.string(), z.number()).optional(),
      score_histogram: histogramSchema.optional(),
      feature_histograms: z.record(z.string(), histogramSchema).optional(),
    })
    .nullable()
    .optional()
    // null (the import knew no training rows) reads as absent, as in att-model/1
    .transform((t) => t ?? undefined),
  files: cardFilesSchema,
  onnx: cardOnnxSchema,
});

export type CardV2 = z.infer<typeof cardV2Schema>;

/**
 * Checks a parsed att-model/2 card (the caller has checked `format` and the feature list).
 * Beyond the schema: `threshold` equals `score.threshold`; the parity report, when present,
 * passed; `explain.file` (or, for an IsolationForest, forest.json) and model.onnx are listed in
 * `files`; a card without explanations says why.
 */
export function parseCardV2(raw: unknown, path: string): CardV2 {
  const card = parseCardSchema(cardV2Schema, raw, path, CARD_FORMAT_V2);
  const problems: string[] = [];
  if (card.threshold !== card.score.threshold)
    problems.push(`threshold ${card.threshold} differs from score.threshold ${card.score.threshold}`);
  if (card.score.labels.positive === card.score.labels.negative)
    problems.push(`score.labels names both sides ${card.score.labels.positive}`);
  if (card.parity && (!card.parity.passed || card.parity.prediction_mismatches !== 0))
    problems.push(
      `parity.passed is ${card.parity.passed} with ${card.parity.prediction_mismatches} prediction mismatches: the import did not prove this model scores like scikit-learn`,
    );
  const required = ["model.onnx"];
  if (card.explain) required.push(card.explain.file);
  else if (!card.explain_unavailable)
    problems.push("explain is null but explain_unavailable does not say why");
  if (card.estimator.kind === "isolation_forest") required.push("forest.json");
  const missing = required.filter((f) => !(f in card.files));
  if (missing.length)
    problems.push(
      `"files" does not list ${missing.join(" and ")} (every model file must be listed with its sha256)`,
    );
  if (problems.length) {
    throw modelError(
      MODEL_ERROR_CODES.invalidCard,
      `Model card ${path} is not a usable ${CARD_FORMAT_V2} card.`,
      {
        details: [...problems, "Fix: re-import the model with `att model import`."],
      },
    );
  }
  return card;
}
