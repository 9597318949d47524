import { z } from "zod";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * Schema pieces both card formats (att-model/1 in card.ts, att-model/2 in card-v2.ts) share:
 * names usable as folder and file names, histograms, the verified file list and the ONNX facts.
 */
export const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

export const histogramSchema = z.object({ edges: z.array(z.number()), counts: z.array(z.number()) });

/** `files`: every listed file of the model folder with its sha256 (the loader hashes each). */
export const cardFilesSchema = z.record(
  z.string().regex(PLAIN_NAME, "expected a plain file name inside the model folder"),
  z.looseObject({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lower-case hex digits"),
    bytes: z.number().optional(),
  }),
);

/** `onnx`: what the loader checks against the ONNX file's own protobuf. */
export const cardOnnxSchema = z.looseObject({
  input: z.string(),
  outputs: z.array(z.string()).min(1),
  opsets: z.record(z.string(), z.number().int()),
  ir_version: z.number().int().optional(),
});

/** `raw` checked against a card format's schema, or ATT_MODEL_INVALID_CARD with the first ten offending paths. */
export function parseCardSchema<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  path: string,
  format: string,
): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw modelError(
      MODEL_ERROR_CODES.invalidCard,
      `Model card ${path} does not follow the ${format} schema.`,
      {
        details: parsed.error.issues.slice(0, 10).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
      },
    );
  }
  return parsed.data;
}
