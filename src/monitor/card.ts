import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ModelError } from "../kernel/errors.js";
import { validateHistogram } from "./histogram.js";

/**
 * The part of a model card (model.json, written by model-tools/att_model/card.py) that
 * monitoring reads: version, threshold, ordered features and the training-time reference
 * distributions. Everything else in the card is ignored here, so the scorer's stricter card
 * loader and this one can evolve separately.
 */
const histogramSchema = z.object({
  edges: z.array(z.number()).min(2),
  counts: z.array(z.number().nonnegative()),
});

const monitorCardSchema = z.object({
  version: z.union([z.string().min(1), z.number()]).transform(String),
  // Any finite number: an att-model/2 decision function's threshold is 0 and its scores any sign.
  threshold: z.number().refine(Number.isFinite, "expected a finite number"),
  features: z.array(z.string().min(1)).min(1),
  training: z.object({
    n_rows: z.number().int().nonnegative().optional(),
    /** Share of training rows at or above the threshold (att-model/2 cards may call it positive_rate). */
    anomaly_rate: z.number().min(0).max(1),
    score_quantiles: z.record(z.string(), z.number()).optional(),
    score_histogram: histogramSchema.optional(),
    feature_histograms: z.record(z.string(), histogramSchema).optional(),
  }),
});

export type MonitorCard = z.infer<typeof monitorCardSchema>;

const NOT_FOUND = "ATT_MODEL_NOT_FOUND";
const INVALID = "ATT_MODEL_INVALID_CARD";

/** Validates a parsed model.json for monitoring; throws a ModelError naming the bad field. */
export function parseMonitorCard(json: unknown, where = "model.json"): MonitorCard {
  const r = monitorCardSchema.safeParse(withPositiveRate(json));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ModelError(
      `Invalid model card ${where}: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
      {
        code: INVALID,
        details: [
          "Expected: version, threshold, features and training.{anomaly_rate, score_histogram, feature_histograms} as written by `att model import|train`.",
        ],
      },
    );
  }
  const card = r.data;
  try {
    if (card.training.score_histogram) validateHistogram(card.training.score_histogram, "score_histogram");
    for (const [name, h] of Object.entries(card.training.feature_histograms ?? {}))
      validateHistogram(h, `feature_histograms.${name}`);
  } catch (err) {
    throw new ModelError(`Invalid model card ${where}: ${(err as Error).message}`, { code: INVALID });
  }
  return card;
}

/** An att-model/2 card's training.positive_rate stands for anomaly_rate when that is absent. */
function withPositiveRate(json: unknown): unknown {
  const t = (json as { training?: Record<string, unknown> } | null)?.training;
  if (!t || typeof t !== "object" || t.anomaly_rate !== undefined || t.positive_rate === undefined)
    return json;
  return { ...(json as object), training: { ...t, anomaly_rate: t.positive_rate } };
}

/** Reads `<dir>/model.json`. */
export function loadMonitorCard(dir: string): MonitorCard {
  const path = join(dir, "model.json");
  if (!existsSync(path)) {
    throw new ModelError(`No model card at ${path}`, {
      code: NOT_FOUND,
      details: [
        "Fix: pass the model folder (the one holding model.json), e.g. --model models/registry/<version>.",
      ],
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelError(`Model card ${path} is not JSON`, { code: INVALID, cause: err });
  }
  return parseMonitorCard(json, path);
}

/**
 * The card of a model version in the registry: `<registry>/<version>/model.json`, or any
 * registry folder whose card carries that version. Undefined when none does.
 */
export function findMonitorCard(registry: string, version: string): MonitorCard | undefined {
  const direct = join(registry, version);
  if (/^[A-Za-z0-9._-]+$/.test(version) && existsSync(join(direct, "model.json"))) {
    const card = loadMonitorCard(direct);
    if (card.version === version) return card;
  }
  if (!existsSync(registry)) return undefined;
  for (const entry of readdirSync(registry, { withFileTypes: true })) {
    if (!entry.isDirectory() || !existsSync(join(registry, entry.name, "model.json"))) continue;
    try {
      const card = loadMonitorCard(join(registry, entry.name));
      if (card.version === version) return card;
    } catch {
      // Another version's broken card is not this lookup's problem.
    }
  }
  return undefined;
}
