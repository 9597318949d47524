import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The arrows docs/architecture.md allows between the folders of src/, checked on every relative
 * import (static, dynamic and type-only): a forbidden import or a new folder fails here first.
 */

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Module → the modules it may import (besides itself). Keep in step with docs/architecture.md. */
const ALLOWED: Record<string, string[]> = {
  kernel: [],
  contracts: ["kernel"],
  rpc: ["kernel"],
  sink: ["contracts", "kernel"],
  monitor: ["contracts", "kernel"],
  enrich: ["contracts", "kernel", "rpc"],
  features: ["contracts", "enrich", "kernel"],
  model: ["features", "kernel"],
  ingest: ["contracts", "kernel", "rpc"],
  score: ["contracts", "enrich", "features", "ingest", "kernel", "model", "monitor", "rpc", "sink"],
  "tools/stats": ["contracts", "kernel", "monitor", "tools/labels"],
  "tools/labels": ["contracts", "kernel", "tools/simulate"],
  "tools/simulate": ["contracts", "features", "kernel", "model", "rpc"],
  "tools/demo": ["contracts", "kernel", "rpc", "tools/simulate"],
  "tools/compare": ["contracts", "kernel", "model", "tools/labels", "tools/stats"],
  "tools/retrain": ["contracts", "kernel", "model", "tools/compare", "tools/labels", "tools/stats"],
  commands: [
    "enrich",
    "ingest",
    "kernel",
    "model",
    "score",
    "tools/compare",
    "tools/demo",
    "tools/labels",
    "tools/retrain",
    "tools/simulate",
    "tools/stats",
  ],
  cli: ["commands", "kernel"],
};

/** The module a file belongs to: its top folder under src/ (tools/<x> for the tools), or cli. */
function moduleOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return parts[0]!.replace(/\.ts$/, "");
  return parts[0] === "tools" ? `tools/${parts[1]}` : parts[0]!;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function edges(): { from: string; to: string; file: string; spec: string }[] {
  const out: { from: string; to: string; file: string; spec: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), m[1]!));
      if (!target.startsWith(SRC)) continue;
      const from = moduleOf(file);
      const to = moduleOf(target);
      if (from !== to) out.push({ from, to, file: relative(SRC, file), spec: m[1]! });
    }
  }
  return out;
}

describe("architecture (docs/architecture.md)", () => {
  it("has every folder of src/ in the table of allowed imports", () => {
    const modules = new Set([...sourceFiles(SRC)].map(moduleOf));
    expect([...modules].filter((m) => !(m in ALLOWED)).sort()).toEqual([]);
  });

  it("imports only along the allowed arrows", () => {
    const bad = edges()
      .filter((e) => !ALLOWED[e.from]?.includes(e.to))
      .map((e) => `${e.from} → ${e.to}: src/${e.file} imports "${e.spec}"`);
    expect(bad).toEqual([]);
  });

  it("has no cycle between modules (the allowed arrows form a DAG)", () => {
    const seen = new Set<string>();
    const onPath = new Set<string>();
    const cycles: string[] = [];
    const visit = (m: string, path: string[]) => {
      if (onPath.has(m)) cycles.push([...path, m].join(" → "));
      if (seen.has(m)) return;
      seen.add(m);
      onPath.add(m);
      for (const n of ALLOWED[m] ?? []) visit(n, [...path, m]);
      onPath.delete(m);
    };
    for (const m of Object.keys(ALLOWED)) visit(m, []);
    expect(cycles).toEqual([]);
  });

  it("catches a forbidden import (the check itself works)", () => {
    // kernel may import no stage: an import of the score stage from kernel would be reported.
    expect(ALLOWED.kernel!.includes("score")).toBe(false);
    expect(moduleOf(join(SRC, "tools", "demo", "run.ts"))).toBe("tools/demo");
    expect(moduleOf(join(SRC, "kernel", "kafka", "client.ts"))).toBe("kernel");
  });
});
