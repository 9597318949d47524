import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../../kernel/errors.js";

/**
 * Per-feature statistics of the ATT bot's real training set (`training_marginals.json`,
 * recovered from the bot's LIME explainer): entropy bins with frequency, mean, std, min and
 * max per bin. Bin i covers (lo[i], hi[i]]; the first bin also holds everything below, the
 * last everything above (the LIME labels read "x <= a", "a < x <= b", "x > b").
 * Same reading as model-tools/att_model/marginals.py.
 */
export interface FeatureMarginal {
  name: string;
  freq: number[];
  mean: number[];
  std: number[];
  lo: number[];
  hi: number[];
}

export interface Marginals {
  nSamples: number;
  source: string;
  features: Record<string, FeatureMarginal>;
}

const featureSchema = z
  .object({
    bin_freq: z.array(z.number().nonnegative()).min(1),
    bin_mean: z.array(z.number()),
    bin_std: z.array(z.number().nonnegative()),
    bin_min: z.array(z.number()),
    bin_max: z.array(z.number()),
  })
  .refine(
    (f) => [f.bin_mean, f.bin_std, f.bin_min, f.bin_max].every((a) => a.length === f.bin_freq.length),
    "bin_freq, bin_mean, bin_std, bin_min and bin_max must have the same length",
  );

const fileSchema = z.object({
  n_samples: z.number().int().positive(),
  source: z.string().optional(),
  features: z.record(z.string(), featureSchema),
});

/** Parses the JSON text of a marginals file; throws ConfigError naming the file and the problem. */
export function parseMarginals(text: string, origin: string): Marginals {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Marginals file ${origin} is not JSON`, { cause: err });
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`Marginals file ${origin} has an unexpected shape`, {
      details: [
        `At: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
        "Expected: { n_samples, features: { <name>: { bin_freq, bin_mean, bin_std, bin_min, bin_max } } }",
      ],
    });
  }
  const features: Record<string, FeatureMarginal> = {};
  for (const [name, f] of Object.entries(r.data.features)) {
    features[name] = {
      name,
      freq: f.bin_freq,
      mean: f.bin_mean,
      std: f.bin_std,
      lo: f.bin_min,
      hi: f.bin_max,
    };
  }
  return { nSamples: r.data.n_samples, source: r.data.source ?? origin, features };
}

export function loadMarginals(path: string): Marginals {
  if (!existsSync(path)) {
    throw new ConfigError(`Marginals file not found: ${path}`, {
      details: ["Fix: set ATT_SIMULATE_MARGINALS (or --marginals) to a training_marginals.json file."],
    });
  }
  return parseMarginals(readFileSync(path, "utf8"), path);
}

/** Right-closed bin index of `x` (the bin whose (lo, hi] holds it; below/above go to the ends). */
export function binOf(m: FeatureMarginal, x: number): number {
  for (let i = 0; i < m.hi.length - 1; i++) if (x <= m.hi[i]!) return i;
  return m.hi.length - 1;
}
