import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { MODEL_ERROR_CODES, modelError } from "../errors.js";
import { resolveModelDir } from "../registry.js";

/**
 * What `att model inspect|score` accept as a model: a folder holding model.json, else a
 * version (folder name) in the registry, else — nothing given — the registry's DEFAULT.
 */
export function resolveTarget(target: string | undefined, registry: string): string {
  if (
    target !== undefined &&
    existsSync(target) &&
    statSync(target).isDirectory() &&
    existsSync(join(target, "model.json"))
  ) {
    return resolve(target);
  }
  if (target !== undefined && (target.includes("/") || existsSync(target))) {
    throw modelError(MODEL_ERROR_CODES.notFound, `${target} is not a model folder (no model.json in it).`);
  }
  return resolveModelDir(registry, target);
}
