import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * forest.json (format "att-forest/1", written by model-tools/att_model/forest_json.py) held
 * as flat typed arrays: every tree's nodes one after the other, children as absolute indices.
 *
 * Invariants the writer guarantees and `parseForest` checks:
 *  - node 0 of each tree is its root; a leaf has left = right = feature = -1;
 *  - row x goes left at node i iff fround(x[feature[i]]) <= threshold[i] (thresholds are
 *    float32 values, so JS doubles compare exactly as onnxruntime's float32 BRANCH_LEQ);
 *  - value[leaf] = depth(leaf) + c(cover[leaf]); E[h(x)] = mean over trees of value[leaf(x)];
 *    score = 2^(-E[h(x)] / c(max_samples)).
 */
export interface Forest {
  nTrees: number;
  nFeatures: number;
  maxSamples: number;
  /** c(max_samples): the normalizer of the score. */
  cMaxSamples: number;
  /** Feature names as forest.json lists them (null when absent). */
  features: string[] | null;
  /** Index of each tree's root in the flat node arrays. */
  roots: Int32Array;
  /** Absolute child index, -1 at leaves. */
  left: Int32Array;
  right: Int32Array;
  /** Split feature, -1 at leaves. */
  feature: Int32Array;
  /** float32 split thresholds, held as doubles. */
  threshold: Float64Array;
  cover: Float64Array;
  /** Leaf: depth + c(cover). Internal: cover-weighted mean of the children (recomputed here). */
  value: Float64Array;
  /** Depth of every node, 0 at the root. */
  depth: Int32Array;
  maxDepth: number;
  /** Expected path length E[h] over the training cover: mean over trees of value[root]. */
  baseValue: number;
}

export const FOREST_FORMAT = "att-forest/1";
const EULER_GAMMA = 0.5772156649015329;

/** c(n) exactly as scikit-learn's `_average_path_length`. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

function invalid(path: string, what: string, details: string[] = []): never {
  throw modelError(MODEL_ERROR_CODES.invalidForest, `Invalid forest file ${path}: ${what}.`, {
    details: [...details, "Fix: re-export the model folder with `att model import` or `att model train`."],
  });
}

function intArray(path: string, t: number, name: string, raw: unknown, n: number): number[] {
  if (!Array.isArray(raw) || raw.length !== n || !raw.every((v) => Number.isInteger(v))) {
    invalid(path, `tree ${t}: "${name}" must be an array of ${n} integers`);
  }
  return raw as number[];
}

function numArray(path: string, t: number, name: string, raw: unknown, n: number): number[] {
  if (
    !Array.isArray(raw) ||
    raw.length !== n ||
    !raw.every((v) => typeof v === "number" && Number.isFinite(v))
  ) {
    invalid(path, `tree ${t}: "${name}" must be an array of ${n} finite numbers`);
  }
  return raw as number[];
}

interface RawTree {
  left?: unknown;
  right?: unknown;
  feature?: unknown;
  threshold?: unknown;
  cover?: unknown;
  value?: unknown;
}

/**
 * Validates and flattens a parsed forest.json. `path` only labels error messages.
 * Checks structure (every node reached exactly once from its root), feature indices, and that
 * the leaf values are the isolation-forest path lengths the explanations assume.
 */
export function parseForest(doc: unknown, path: string): Forest {
  if (typeof doc !== "object" || doc === null) invalid(path, "not a JSON object");
  const d = doc as Record<string, unknown>;
  if (d.format !== FOREST_FORMAT)
    invalid(path, `format ${JSON.stringify(d.format)}, expected "${FOREST_FORMAT}"`);
  const nFeatures = d.n_features;
  const maxSamples = d.max_samples;
  if (!Number.isInteger(nFeatures) || (nFeatures as number) < 1)
    invalid(path, "n_features must be a positive integer");
  if (!Number.isInteger(maxSamples) || (maxSamples as number) < 2)
    invalid(path, "max_samples must be an integer >= 2");
  const cMaxSamples = averagePathLength(maxSamples as number);
  if (
    typeof d.average_path_length_max_samples !== "number" ||
    Math.abs(d.average_path_length_max_samples - cMaxSamples) > 1e-12
  ) {
    invalid(
      path,
      `average_path_length_max_samples ${String(d.average_path_length_max_samples)} != c(${String(maxSamples)}) = ${cMaxSamples}`,
    );
  }
  if (!Array.isArray(d.trees) || d.trees.length === 0) invalid(path, "no trees");
  if (d.n_trees !== d.trees.length)
    invalid(path, `n_trees is ${String(d.n_trees)} but ${d.trees.length} trees are listed`);
  const features = d.features === null || d.features === undefined ? null : d.features;
  if (features !== null && (!Array.isArray(features) || !features.every((f) => typeof f === "string"))) {
    invalid(path, "features must be a list of names");
  }

  const trees = d.trees as RawTree[];
  const total = trees.reduce((s, t) => s + (Array.isArray(t?.left) ? t.left.length : 0), 0);
  const f: Forest = {
    nTrees: trees.length,
    nFeatures: nFeatures as number,
    maxSamples: maxSamples as number,
    cMaxSamples,
    features: features as string[] | null,
    roots: new Int32Array(trees.length),
    left: new Int32Array(total),
    right: new Int32Array(total),
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    cover: new Float64Array(total),
    value: new Float64Array(total),
    depth: new Int32Array(total),
    maxDepth: 0,
    baseValue: 0,
  };

  let base = 0;
  trees.forEach((tree, t) => {
    if (typeof tree !== "object" || tree === null) invalid(path, `tree ${t} is not an object`);
    const n = Array.isArray(tree.left) ? tree.left.length : 0;
    if (n === 0) invalid(path, `tree ${t} has no nodes`);
    const left = intArray(path, t, "left", tree.left, n);
    const right = intArray(path, t, "right", tree.right, n);
    const feature = intArray(path, t, "feature", tree.feature, n);
    const threshold = numArray(path, t, "threshold", tree.threshold, n);
    const cover = numArray(path, t, "cover", tree.cover, n);
    const value = numArray(path, t, "value", tree.value, n);
    const off = (f.roots[t] = t === 0 ? 0 : f.roots[t - 1]! + (trees[t - 1]!.left as unknown[]).length);

    const seen = new Uint8Array(n);
    const stack = [0];
    f.depth[off] = 0;
    const order: number[] = [];
    while (stack.length) {
      const i = stack.pop()!;
      if (seen[i]) invalid(path, `tree ${t}: node ${i} is reached twice`);
      seen[i] = 1;
      order.push(i);
      const isLeaf = left[i] === -1;
      if (isLeaf !== (right[i] === -1)) invalid(path, `tree ${t}: node ${i} has exactly one child`);
      if (!(cover[i]! > 0)) invalid(path, `tree ${t}: node ${i} has cover ${cover[i]}, expected > 0`);
      f.cover[off + i] = cover[i]!;
      f.threshold[off + i] = Math.fround(threshold[i]!);
      if (isLeaf) {
        if (feature[i] !== -1) invalid(path, `tree ${t}: leaf ${i} has feature ${feature[i]}, expected -1`);
        f.left[off + i] = f.right[off + i] = f.feature[off + i] = -1;
        const expected = f.depth[off + i]! + averagePathLength(cover[i]!);
        if (Math.abs(value[i]! - expected) > 1e-9 * Math.max(1, expected)) {
          invalid(
            path,
            `tree ${t}: leaf ${i} has value ${value[i]}, expected depth + c(cover) = ${expected}`,
          );
        }
        f.value[off + i] = value[i]!;
        f.maxDepth = Math.max(f.maxDepth, f.depth[off + i]!);
        continue;
      }
      if (!(feature[i]! >= 0 && feature[i]! < f.nFeatures)) {
        invalid(path, `tree ${t}: node ${i} splits on feature ${feature[i]}, outside 0..${f.nFeatures - 1}`);
      }
      for (const c of [left[i]!, right[i]!]) {
        if (!(c > 0 && c < n)) invalid(path, `tree ${t}: node ${i} has child ${c}, outside 1..${n - 1}`);
        f.depth[off + c] = f.depth[off + i]! + 1;
        stack.push(c);
      }
      f.feature[off + i] = feature[i]!;
      f.left[off + i] = off + left[i]!;
      f.right[off + i] = off + right[i]!;
    }
    if (order.length !== n)
      invalid(path, `tree ${t}: ${n - order.length} nodes are unreachable from the root`);
    // Internal values bottom-up (children come after their parent in `order`).
    for (let k = order.length - 1; k >= 0; k--) {
      const i = off + order[k]!;
      const l = f.left[i]!;
      if (l === -1) continue;
      const r = f.right[i]!;
      f.value[i] = (f.cover[l]! * f.value[l]! + f.cover[r]! * f.value[r]!) / (f.cover[l]! + f.cover[r]!);
    }
    if (Math.abs(f.value[off]! - value[0]!) > 1e-9 * Math.max(1, f.value[off]!)) {
      invalid(
        path,
        `tree ${t}: root value ${value[0]} is not the cover-weighted mean of its leaves (${f.value[off]})`,
      );
    }
    base += f.value[off]!;
  });
  f.baseValue = base / f.nTrees;
  return f;
}

/** Leaf of tree `t` reached by `row` (no NaN: rows are validated before scoring). */
export function leafOf(f: Forest, t: number, row: Float32Array): number {
  let i = f.roots[t]!;
  while (f.left[i]! !== -1) {
    i = row[f.feature[i]!]! <= f.threshold[i]! ? f.left[i]! : f.right[i]!;
  }
  return i;
}

/** E[h(x)]: the mean path length over the trees, in float64. */
export function expectedPathLength(f: Forest, row: Float32Array): number {
  let sum = 0;
  for (let t = 0; t < f.nTrees; t++) sum += f.value[leafOf(f, t, row)]!;
  return sum / f.nTrees;
}

/** Normalized score abs(score_samples) = 2^(-E[h(x)] / c(max_samples)). */
export function scoreFromPathLength(f: Forest, pathLength: number): number {
  return Math.pow(2, -pathLength / f.cMaxSamples);
}

/**
 * Probe rows that exercise many splits: the all-zero row, and rows whose every feature sits at
 * one of the thresholds the forest splits it on (both sides of a split get visited across rows).
 */
export function probeRows(
  forest: Pick<Forest, "nFeatures" | "feature" | "threshold">,
  count = 16,
): Float32Array[] {
  const byFeature: number[][] = Array.from({ length: forest.nFeatures }, () => []);
  for (let i = 0; i < forest.feature.length; i++) {
    const f = forest.feature[i]!;
    if (f >= 0) byFeature[f]!.push(forest.threshold[i]!);
  }
  const rows = [new Float32Array(forest.nFeatures)];
  for (let k = 0; k < count; k++) {
    const row = new Float32Array(forest.nFeatures);
    byFeature.forEach((ts, j) => {
      if (ts.length === 0) return;
      const t = ts[(k * 7 + j * 13) % ts.length]!;
      // alternately exactly at the threshold (goes left) and just above it (goes right)
      row[j] = k % 2 === 0 ? t : t + Math.max(Math.abs(t) * 1e-6, 1e-6);
    });
    rows.push(row);
  }
  return rows;
}
