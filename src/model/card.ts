import { z } from "zod";
import { CARD_FORMAT_V2, parseCardV2, type CardV2 } from "./card-v2.js";
import { cardFilesSchema, cardOnnxSchema, histogramSchema, parseCardSchema } from "./card-parts.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * model.json, the model card: "att-model/1" (an IsolationForest with forest.json, written by
 * model-tools/att_model/card.py) or "att-model/2" (any estimator kind of issue 15, with
 * `estimator`, `score`, `parity` and `explain`; card-v2.ts). The loader reads the fields below
 * and keeps the rest (source, libraries, histograms…) as they are; docs/model.md describes every
 * field.
 */
export const CARD_FORMAT = "att-model/1";
export const SCORE_TRANSFORM = "abs_score_samples";
/** Files a model folder must list in `files`; other listed files are verified too. */
export const REQUIRED_FILES = ["model.onnx", "forest.json"] as const;

const cardSchema = z.looseObject({
  format: z.literal(CARD_FORMAT),
  version: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "expected a version usable as a folder name (letters, digits, . _ -)"),
  created_at: z.string().optional(),
  features: z.array(z.string()),
  token_match: z.enum(["symbol", "address"]),
  tokens: z.array(
    z.looseObject({ symbol: z.string(), address: z.string().optional(), decimals: z.number().optional() }),
  ),
  score_transform: z.literal(SCORE_TRANSFORM),
  threshold: z.number().min(0).max(1),
  n_estimators: z.number().int().positive().optional(),
  max_samples: z.number().int().positive().optional(),
  training: z
    .looseObject({
      n_rows: z.number().nullable().optional(),
      anomaly_rate: z.number().nullable().optional(),
      score_quantiles: z.record(z.string(), z.number()).optional(),
      score_histogram: histogramSchema.optional(),
      feature_histograms: z.record(z.string(), histogramSchema).optional(),
    })
    .optional(),
  files: cardFilesSchema,
  onnx: cardOnnxSchema,
});

export type CardV1 = z.infer<typeof cardSchema>;
/** Either card format; `format` tells them apart. */
export type ModelCard = CardV1 | CardV2;

/**
 * Checks a parsed model.json. The three refusals operators meet most get their own codes and
 * are checked first: an unknown card format, an unknown score transform, a bad feature list.
 * Everything else is ATT_MODEL_INVALID_CARD with the offending field paths.
 */
export function parseCard(raw: unknown, path: string): ModelCard {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw modelError(MODEL_ERROR_CODES.invalidCard, `Model card ${path} is not a JSON object.`);
  }
  const doc = raw as Record<string, unknown>;
  if (doc.format === CARD_FORMAT_V2) {
    checkFeatureList(doc.features, path);
    return parseCardV2(raw, path);
  }
  if (doc.format !== CARD_FORMAT) {
    throw modelError(MODEL_ERROR_CODES.unsupportedFormat, `Model card ${path} has an unsupported format.`, {
      details: [
        `Got: ${JSON.stringify(doc.format)}`,
        `Expected: "${CARD_FORMAT}" or "${CARD_FORMAT_V2}"`,
        "Fix: re-export the model with this version's model-tools (`att model import`).",
      ],
    });
  }
  if (doc.score_transform !== SCORE_TRANSFORM) {
    throw modelError(
      MODEL_ERROR_CODES.unsupportedTransform,
      `Model card ${path} asks for a score transform this worker does not implement.`,
      {
        details: [
          `Got: ${JSON.stringify(doc.score_transform)}`,
          `Expected: "${SCORE_TRANSFORM}" (score = abs(score_samples) = 2^(-E[h(x)]/c(max_samples)), as the ATT bot)`,
        ],
      },
    );
  }
  checkFeatureList(doc.features, path);
  const card = parseCardSchema(cardSchema, raw, path, CARD_FORMAT);
  const missing = REQUIRED_FILES.filter((f) => !(f in card.files));
  if (missing.length) {
    throw modelError(
      MODEL_ERROR_CODES.invalidCard,
      `Model card ${path} does not list ${missing.join(" and ")} in "files".`,
      {
        details: ["Every model file must be listed with its sha256 so that the loader can verify it."],
      },
    );
  }
  return card;
}

export function checkFeatureList(features: unknown, path: string): void {
  if (
    !Array.isArray(features) ||
    features.length === 0 ||
    !features.every((f) => typeof f === "string" && f !== "")
  ) {
    throw modelError(MODEL_ERROR_CODES.unknownFeatures, `Model card ${path} has no usable feature list.`, {
      details: [
        `Got: ${JSON.stringify(features)?.slice(0, 120)}`,
        "Expected: a non-empty list of feature names in the model's column order",
      ],
    });
  }
  const seen = new Set<string>();
  const dupes = features.filter((f: string) => (seen.has(f) ? true : (seen.add(f), false)));
  if (dupes.length) {
    throw modelError(MODEL_ERROR_CODES.unknownFeatures, `Model card ${path} lists features more than once.`, {
      details: [`Duplicated: ${[...new Set(dupes)].join(", ")}`],
    });
  }
}
