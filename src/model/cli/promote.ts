import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MODEL_ERROR_CODES, modelError } from "../errors.js";
import { loadModel } from "../load.js";
import { DEFAULT_FILE, readDefaultVersion, resolveModelDir, resolveRegistry } from "../registry.js";

/**
 * `att model promote <version>` / `att model rollback`: the registry's DEFAULT moves, and every
 * move is one line of its CHANGELOG.md, which is also the history rollback reads:
 *
 *   - 2026-12-06T21:40:00Z promote: DEFAULT 1795938160 → 1796001234 (reason)
 *
 * A rollback undoes the latest promote not yet undone (the lines form a stack), so two
 * rollbacks after two promotes return to the first default.
 */
export const CHANGELOG_FILE = "CHANGELOG.md";
const MOVE = /^- (\S+) (promote|rollback): DEFAULT (\S+) → (\S+)/;

export interface DefaultMove {
  at: string;
  action: "promote" | "rollback";
  from: string;
  to: string;
}

/** Every DEFAULT move recorded in the registry's CHANGELOG.md, oldest first. */
export function readDefaultHistory(registry: string): DefaultMove[] {
  const path = join(resolveRegistry(registry), CHANGELOG_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .flatMap((line) => {
      const m = MOVE.exec(line);
      return m ? [{ at: m[1]!, action: m[2] as DefaultMove["action"], from: m[3]!, to: m[4]! }] : [];
    });
}

function writeDefault(registry: string, version: string): void {
  const path = join(registry, DEFAULT_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${version}\n`);
  // rename is atomic: a worker starting now reads the old or the new name, never half of one.
  renameSync(tmp, path);
}

function record(registry: string, move: DefaultMove, reason?: string): void {
  const path = join(registry, CHANGELOG_FILE);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Model registry changelog\n";
  const sep = text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n";
  appendFileSync(
    path,
    `${existsSync(path) ? sep : text + "\n"}- ${move.at} ${move.action}: DEFAULT ${move.from} → ${move.to}${reason ? ` (${reason.replace(/\s+/g, " ").trim()})` : ""}\n`,
  );
}

/**
 * Makes `version` the registry's DEFAULT after verifying it as the worker would load it (hashes,
 * card, ONNX graph). Returns the move, or undefined when it already is the default.
 */
export async function promoteModel(
  registry: string,
  version: string,
  opts: { reason?: string; now?: Date } = {},
): Promise<DefaultMove | undefined> {
  registry = resolveRegistry(registry);
  const dir = resolveModelDir(registry, version);
  const model = await loadModel(dir, { requireKnownFeatures: false });
  await model.close();
  const from = readDefaultVersion(registry) ?? "(none)";
  if (from === version) return undefined;
  const move: DefaultMove = {
    at: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    action: "promote",
    from,
    to: version,
  };
  writeDefault(registry, version);
  record(registry, move, opts.reason);
  return move;
}

/** Moves DEFAULT back to where the latest promote not yet rolled back found it. */
export async function rollbackModel(
  registry: string,
  opts: { reason?: string; now?: Date } = {},
): Promise<DefaultMove> {
  registry = resolveRegistry(registry);
  const stack: DefaultMove[] = [];
  for (const m of readDefaultHistory(registry)) {
    if (m.action === "promote") stack.push(m);
    else stack.pop();
  }
  const last = stack[stack.length - 1];
  const current = readDefaultVersion(registry) ?? "(none)";
  if (!last || last.from === "(none)") {
    throw modelError(MODEL_ERROR_CODES.notFound, `Nothing to roll back in ${registry}.`, {
      details: [
        `Got: DEFAULT ${current}, and no promote in ${CHANGELOG_FILE} that is not rolled back yet`,
        "Fix: name the model to use with att model promote <version>.",
      ],
    });
  }
  if (last.to !== current) {
    throw modelError(MODEL_ERROR_CODES.notFound, `DEFAULT was changed outside att model promote.`, {
      details: [
        `Got: DEFAULT ${current}; the latest promote in ${CHANGELOG_FILE} set ${last.to}`,
        `Fix: att model promote ${last.from} (or the version you want) to choose explicitly.`,
      ],
    });
  }
  resolveModelDir(registry, last.from);
  const move: DefaultMove = {
    at: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    action: "rollback",
    from: current,
    to: last.from,
  };
  writeDefault(registry, last.from);
  record(registry, move, opts.reason);
  return move;
}
