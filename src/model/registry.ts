import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * The model registry: `models/registry/<version>/` folders (immutable once written) and a
 * `DEFAULT` file holding the folder name of the model the worker loads when none is named.
 */
export const DEFAULT_FILE = "DEFAULT";
const VERSION = /^[A-Za-z0-9._-]+$/;

/** Folder name in `<registry>/DEFAULT`, or undefined when the file is absent. */
export function readDefaultVersion(registry: string): string | undefined {
  const path = join(registry, DEFAULT_FILE);
  if (!existsSync(path)) return undefined;
  const name = readFileSync(path, "utf8").trim();
  if (!VERSION.test(name) || name === "." || name === "..") {
    throw modelError(MODEL_ERROR_CODES.notFound, `Registry default ${path} does not name a model folder.`, {
      details: [
        `Got: ${JSON.stringify(name.slice(0, 80))}`,
        "Expected: the folder name of one model, e.g. att-original-1671000000",
      ],
    });
  }
  return name;
}

/** The registry that ships with the package (`<package>/models/registry`), from src/ or dist/. */
export const BUNDLED_REGISTRY = fileURLToPath(new URL("../../models/registry", import.meta.url));

/**
 * `registry` as an absolute path. The default relative `models/registry` falls back to the
 * package's own copy when the working directory has none, so an installed `att` (npm or the
 * image) finds its bundled models from any folder.
 */
export function resolveRegistry(registry: string): string {
  const abs = resolve(registry);
  if (!existsSync(abs) && registry.replace(/\/$/, "") === "models/registry" && existsSync(BUNDLED_REGISTRY))
    return BUNDLED_REGISTRY;
  return abs;
}

/**
 * The folder of model `version` in `registry`, or of the registry's DEFAULT when no version is
 * given. Throws ATT_MODEL_NOT_FOUND listing the versions that do exist.
 */
export function resolveModelDir(registry: string, version?: string): string {
  registry = resolveRegistry(registry);
  const name = version ?? readDefaultVersion(registry);
  const available = listVersions(registry);
  if (name === undefined) {
    throw modelError(
      MODEL_ERROR_CODES.notFound,
      `No model version given and the registry ${registry} has no ${DEFAULT_FILE} file.`,
      {
        details: [
          `Available: ${available.join(", ") || "none"}`,
          "Fix: set ATT_MODEL_VERSION, or write a folder name into DEFAULT.",
        ],
      },
    );
  }
  if (!VERSION.test(name) || name === "." || name === "..") {
    throw modelError(
      MODEL_ERROR_CODES.notFound,
      `Model version ${JSON.stringify(name)} is not a registry folder name.`,
    );
  }
  const dir = join(registry, name);
  if (!existsSync(join(dir, "model.json"))) {
    throw modelError(MODEL_ERROR_CODES.notFound, `Model ${name} is not in the registry ${registry}.`, {
      details: [`Available: ${available.join(", ") || "none"}`],
    });
  }
  return dir;
}

/** Folder names in the registry that hold a model.json, sorted. */
export function listVersions(registry: string): string[] {
  if (!existsSync(registry)) return [];
  return readdirSync(registry)
    .filter(
      (n) =>
        VERSION.test(n) &&
        statSync(join(registry, n)).isDirectory() &&
        existsSync(join(registry, n, "model.json")),
    )
    .sort();
}
