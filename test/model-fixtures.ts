import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { csvRecord } from "../src/kernel/csv.js";
import { parseForest, type Forest } from "../src/model/forest.js";
import { SHARED_DATA } from "./helpers/services.js";
import { rng } from "./helpers/rng.js";

/** Fixtures shared by test/model*.test.ts: the committed registry, the Python venv, random rows. */

export const REPO = fileURLToPath(new URL("../", import.meta.url));
export const REGISTRY = join(REPO, "models", "registry");
export const VENV_PYTHON = join(REPO, "model-tools", ".venv", "bin", "python");
export const HAS_VENV = existsSync(VENV_PYTHON);
export const ATT_REFERENCE = fileURLToPath(new URL("att-reference/", SHARED_DATA));
export const HAS_SHARED_DATA = existsSync(join(ATT_REFERENCE, "exploit_rows.csv"));

/** The registry's default model folder (models/registry/DEFAULT). */
export function defaultModelDir(): string {
  return join(REGISTRY, readFileSync(join(REGISTRY, "DEFAULT"), "utf8").trim());
}

/** The imported original ATT model in the registry (`att-original-<version>`), if committed. */
export function committedAttOriginalDir(): string | undefined {
  const name = readdirSync(REGISTRY).find(
    (n) => n.startsWith("att-original-") && existsSync(join(REGISTRY, n, "model.json")),
  );
  return name && join(REGISTRY, name);
}

/**
 * The original ATT model: imported now from ../shared/data with the Python tool when the venv is
 * there (the path CI takes), else the committed registry copy.
 */
let imported: string | undefined;
export function attOriginalDir(): string | undefined {
  if (imported) return imported;
  if (HAS_VENV && HAS_SHARED_DATA) {
    const out = join(mkdtempSync(join(tmpdir(), "att-model-")), "att-original");
    const r = spawnSync(
      VENV_PYTHON,
      [
        "-m",
        "att_model",
        "import",
        join(ATT_REFERENCE, "isolation_forest.pkl"),
        "--out",
        out,
        "--marginals",
        join(ATT_REFERENCE, "training_marginals.json"),
        "--estimate-rows",
        "500",
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`att_model import failed:\n${r.stderr}`);
    return (imported = out);
  }
  return committedAttOriginalDir();
}

/** A writable copy of a model folder, for tampering. */
export function copyModel(dir: string): string {
  const out = join(mkdtempSync(join(tmpdir(), "att-model-copy-")), "model");
  cpSync(dir, out, { recursive: true });
  return out;
}

export function readForest(dir: string): Forest {
  return parseForest(JSON.parse(readFileSync(join(dir, "forest.json"), "utf8")), dir);
}

export function editJson(path: string, edit: (doc: Record<string, unknown>) => void): void {
  const doc = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(doc);
  writeFileSync(path, JSON.stringify(doc));
}

/**
 * Rows that reach every part of the forest: most features 0 (as in real traffic), a few set to a
 * split threshold of that feature — exactly at it (goes left), just above it, or scaled — so
 * that rows spread over the whole score range, and many sit on split boundaries where float32
 * handling matters.
 */
export function randomRows(forest: Forest, n: number, seed: number): Float32Array[] {
  const random = rng(seed);
  const byFeature: number[][] = Array.from({ length: forest.nFeatures }, () => []);
  forest.feature.forEach((f, i) => f >= 0 && byFeature[f]!.push(forest.threshold[i]!));
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float32Array(forest.nFeatures);
    const k = 1 + Math.floor(random() * 10);
    for (let m = 0; m < k; m++) {
      const j = Math.floor(random() * forest.nFeatures);
      const ts = byFeature[j]!;
      if (ts.length === 0) continue;
      const t = ts[Math.floor(random() * ts.length)]!;
      const mode = random();
      row[j] =
        mode < 0.3
          ? t
          : mode < 0.5
            ? Math.fround(t + Math.max(Math.abs(t) * 1e-6, 1e-30))
            : t * (0.2 + 3 * random());
    }
    rows.push(row);
  }
  return rows;
}

/** CSV with the model's feature names; float32 values printed so that Python reads them back exactly. */
export function rowsToCsv(features: readonly string[], rows: Float32Array[]): string {
  return [features, ...rows.map((r) => Array.from(r, (v) => String(v)))].map(csvRecord).join("");
}
