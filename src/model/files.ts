import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelCard } from "./card.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function readModelFile(dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw modelError(
      MODEL_ERROR_CODES.notFound,
      `Cannot read model file ${path}${code ? ` (${code})` : ""}.`,
      { cause: err },
    );
  }
}

/**
 * Reads every file the card lists and checks its sha256. Returns the verified bytes so that
 * the caller parses exactly what was checked (no second read that a swap could slip into).
 */
export async function readVerifiedFiles(dir: string, card: ModelCard): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [name, { sha256: expected }] of Object.entries(card.files)) {
    const bytes = await readModelFile(dir, name);
    const got = sha256(bytes);
    if (got !== expected) {
      throw modelError(
        MODEL_ERROR_CODES.hashMismatch,
        `Model file ${join(dir, name)} does not match its model card.`,
        {
          details: [
            `sha256 in model.json: ${expected}`,
            `sha256 of the file:   ${got}`,
            "The file was modified or only partly copied. Fix: restore the folder from the registry, or re-export the model.",
          ],
        },
      );
    }
    out.set(name, bytes);
  }
  return out;
}
