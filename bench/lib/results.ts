import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeMachine, load, type Machine } from "./machine.js";

export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

/**
 * One figure. `baseline` is the same quantity measured in the same run by the simplest thing
 * that could do the job (absolute times on shared machines drift; ratios hold better), and
 * `ratio = value / baseline.value`.
 */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  /** Goal from the issue, e.g. ">= 10000"; `met` says whether the value reached it. */
  goal?: string;
  met?: boolean;
  note?: string;
}

export interface MemoryFigure {
  process: string;
  peakRssMiB: number;
}

/** What bench/e2e.ts and bench/enrichment.ts write to bench/results/<bench>.json. */
export interface BenchReport {
  bench: string;
  title: string;
  command: string;
  date: string;
  quick: boolean;
  seconds: number;
  machine: Machine;
  load: { before: [number, number, number]; after: [number, number, number] };
  /** Effective settings (env and flags) the figures depend on. */
  settings: Record<string, string | number | boolean>;
  results: BenchResult[];
  memory: MemoryFigure[];
  notes: string[];
  /** Anything bench-specific (per-phase details, profiles). */
  details?: Record<string, unknown>;
}

/** Starts a report; fill `results`/`memory`/`notes`, then `finishReport`. */
export function startReport(bench: string, title: string, command: string, quick: boolean): BenchReport {
  return {
    bench,
    title,
    command,
    date: new Date().toISOString(),
    quick,
    seconds: performance.now() / 1000,
    machine: describeMachine(),
    load: { before: load(), after: load() },
    settings: {},
    results: [],
    memory: [],
    notes: [],
  };
}

export function withBaseline(
  r: Omit<BenchResult, "baseline" | "ratio">,
  baseline: { name: string; value: number } | undefined,
): BenchResult {
  if (!baseline || !(baseline.value > 0)) return r;
  return { ...r, baseline, ratio: r.value / baseline.value };
}

/** Writes bench/results/<bench>.json atomically and returns its path. */
export function finishReport(report: BenchReport): string {
  report.load.after = load();
  report.seconds = Math.round((performance.now() / 1000 - report.seconds) * 10) / 10;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${report.bench}.json`;
  writeFileSync(`${path}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

export function readJson(path: string): unknown {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as unknown;
}
