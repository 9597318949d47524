import type { BenchResult, MemoryFigure } from "../results.js";

/**
 * Every benchmark's JSON, whatever its shape, as a list of figures
 * `{ name, value, unit, baseline?, ratio?, goal?, met? }` for one table. Benchmarks written with
 * bench/lib/results.ts already have that shape; the others get an adapter here, and anything
 * unknown falls back to its numeric fields.
 */
export interface Normalized {
  figures: BenchResult[];
  memory: MemoryFigure[];
  notes: string[];
  settings: Record<string, unknown>;
  date?: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function isFigureList(v: unknown): v is BenchResult[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (r) =>
        isObj(r) && typeof r.name === "string" && typeof r.value === "number" && typeof r.unit === "string",
    )
  );
}

function figure(
  name: string,
  value: number,
  unit: string,
  baseline?: { name: string; value: number | undefined },
): BenchResult {
  const f: BenchResult = { name, value, unit };
  if (baseline && baseline.value !== undefined && baseline.value > 0) {
    f.baseline = { name: baseline.name, value: baseline.value };
    f.ratio = value / baseline.value;
  }
  return f;
}

/** bench/scoring.ts: throughput[batch][variant].rowsPerS, explain.*.mean_us, single.*.p50_us, goals/met. */
function scoring(j: Json): BenchResult[] {
  const out: BenchResult[] = [];
  const tp = isObj(j.throughput) ? j.throughput : {};
  const rate = (v: unknown) => (isObj(v) ? num(v.rowsPerS) : undefined);
  for (const [size, variants] of Object.entries(tp)) {
    if (!isObj(variants)) continue;
    const sk = rate(variants.sklearn);
    const onnx = rate(variants.skl2onnx);
    for (const [variant, v] of Object.entries(variants)) {
      const r = rate(v);
      if (r === undefined || variant === "sklearn" || variant === "skl2onnx") continue;
      out.push(
        figure(`batch ${size}: ${variant} vs scikit-learn`, r, "rows/s", {
          name: "sklearn score_samples",
          value: sk,
        }),
      );
      if (variant === "engine" && onnx !== undefined)
        out.push(
          figure(`batch ${size}: ${variant} vs skl2onnx`, r, "rows/s", {
            name: "skl2onnx graph",
            value: onnx,
          }),
        );
    }
  }
  // Baselines: an explanation against scoring the same row (engine, batch 1, same run); a
  // single-row time against scikit-learn's single-row time.
  const batch1 = isObj(tp["1"]) ? rate(tp["1"].engine) : undefined;
  const scoreRowUs = batch1 ? 1e6 / batch1 : undefined;
  if (isObj(j.explain))
    for (const [k, v] of Object.entries(j.explain)) {
      const us = isObj(v) ? num(v.mean_us) : undefined;
      if (us !== undefined)
        out.push(
          figure(`explanation per row: ${k} (mean)`, us, "µs", {
            name: "scoring one row (engine, batch 1)",
            value: scoreRowUs,
          }),
        );
    }
  if (isObj(j.single)) {
    const sklearnUs = isObj(j.single.sklearn) ? num(j.single.sklearn.p50_us) : undefined;
    for (const [k, v] of Object.entries(j.single)) {
      const us = isObj(v) ? num(v.p50_us) : undefined;
      if (us !== undefined)
        out.push(
          figure(
            `single row p50: ${k}`,
            us,
            "µs",
            k === "sklearn" ? undefined : { name: "sklearn single row p50", value: sklearnUs },
          ),
        );
    }
  }
  if (isObj(j.goals) && isObj(j.met)) {
    const met = j.met;
    const keys = Object.keys(j.goals);
    for (const [i, [k, g]] of Object.entries(j.goals).entries()) {
      if (!isObj(g)) continue;
      const metKey = Object.keys(met)[i] ?? keys[i]!;
      const value =
        num(g.mean_us) ??
        num(g.p50_us) ??
        (Array.isArray(g.ratios) ? Math.min(...(g.ratios as number[])) : undefined);
      if (value === undefined) continue;
      out.push({
        name: `goal: ${k}`,
        value,
        unit: Array.isArray(g.ratios) ? "× (min)" : "µs",
        goal: String(g.goal ?? ""),
        ...(typeof met[metKey] === "boolean" ? { met: met[metKey] as boolean } : {}),
      });
    }
  }
  return out;
}

/** Arrays of rows like { scenario|variant|name: string, <metric>: number, vs_baseline|vsBaseline }. */
function rowTable(rows: Json[]): BenchResult[] {
  const label = (r: Json) => String(r.name ?? r.scenario ?? r.variant ?? r.label ?? "?");
  const base = rows.find((r) => /baseline/i.test(label(r))) ?? rows[0]!;
  const metrics = Object.keys(rows[0]!).filter(
    (k) =>
      num(rows[0]![k]) !== undefined &&
      !/^(vs_?baseline|ratio|seconds|transfers|blocks|count|n)$/i.test(k) &&
      /per_?s|PerS|rate|_s$|ms|us|mib/i.test(k),
  );
  const unitOf = (k: string) =>
    k
      .replace(/^tx_per_s$/, "tx/s")
      .replace(/^(\w+?)_?[pP]er_?[sS]$/, (_, w: string) => `${w}/s`)
      .replace(/_/g, " ");
  const out: BenchResult[] = [];
  for (const m of metrics.length ? metrics : ["value"]) {
    for (const r of rows) {
      const v = num(r[m]);
      if (v === undefined) continue;
      const isBase = r === base;
      out.push(
        figure(
          metrics.length > 1 ? `${label(r)} (${unitOf(m)})` : label(r),
          v,
          unitOf(m),
          isBase ? undefined : { name: label(base), value: num(base[m]) },
        ),
      );
    }
  }
  return out;
}

function numericLeaves(j: unknown, path = "", out: BenchResult[] = []): BenchResult[] {
  if (out.length >= 40) return out;
  if (typeof j === "number" && Number.isFinite(j)) out.push({ name: path, value: j, unit: "" });
  else if (Array.isArray(j)) j.slice(0, 20).forEach((v, i) => numericLeaves(v, `${path}[${i}]`, out));
  else if (isObj(j))
    for (const [k, v] of Object.entries(j)) {
      if (/^(machine|date|when|load|settings|params|command)$/.test(k)) continue;
      numericLeaves(v, path ? `${path}.${k}` : k, out);
    }
  return out;
}

export function normalize(bench: string, raw: unknown): Normalized {
  const j = isObj(raw) ? raw : {};
  const date = typeof j.date === "string" ? j.date : typeof j.when === "string" ? j.when : undefined;
  const base: Normalized = {
    figures: [],
    memory: Array.isArray(j.memory) ? (j.memory as MemoryFigure[]) : [],
    notes: Array.isArray(j.notes) ? (j.notes as string[]).filter((n) => typeof n === "string") : [],
    settings: isObj(j.settings) ? j.settings : isObj(j.params) ? j.params : isObj(j.data) ? j.data : {},
    ...(date ? { date } : {}),
  };
  if (isFigureList(j.results)) return { ...base, figures: j.results };
  if (bench === "scoring" || isObj(j.throughput)) {
    const f = scoring(j);
    if (f.length) return { ...base, figures: f };
  }
  if (Array.isArray(j.results) && j.results.length > 0 && j.results.every(isObj)) {
    const f = rowTable(j.results as Json[]);
    if (f.length) return { ...base, figures: f };
  }
  return { ...base, figures: numericLeaves(j) };
}
