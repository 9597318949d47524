import { MODEL_ERROR_CODES, modelError } from "./errors.js";

/**
 * explain.json (format "att-explain/1", written by `att model import`, docs/model-formats.md):
 * the model again in plain numbers, in raw (unscaled) feature space, for two jobs the ONNX
 * graph cannot do — exact float64 scores near the threshold, and exact explanations.
 *
 *  - trees: every tree as arrays, node 0 the root; a row goes left iff x[feature] <= threshold
 *    (x is the float32 feature value, compared as a double: scikit-learn's own comparison of a
 *    float32 input against a float64 threshold). margin(x) = base_offset + Σ_t value(leaf_t(x))
 *    / divisor, divisor = n_trees for "mean" (averaged forests), 1 for "sum" (boosting).
 *  - linear: margin(x) = intercept + Σ_j coef_j x_j (scalers folded in); `reference` is the
 *    baseline of the attributions coef_j (x_j − reference_j).
 *
 * link "logistic": the model's probability is 1 / (1 + e^−margin); "identity": the margin is it.
 */
export const EXPLAIN_FORMAT = "att-explain/1";

interface Common {
  nFeatures: number;
  features: string[];
  link: "identity" | "logistic";
  /** The explained quantity at the baseline: E over the training cover (trees) or at `reference` (linear). */
  baseValue: number;
}

/** Tree ensemble as flat typed arrays, shaped like Forest so that TreeSHAP and the probes take either. */
export interface TreeSet extends Common {
  kind: "trees";
  nTrees: number;
  /** n_trees for "mean", 1 for "sum": a tree's output is value / divisor. */
  divisor: number;
  baseOffset: number;
  roots: Int32Array;
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  cover: Float64Array;
  /** Leaves: the file's value. Inner nodes: cover-weighted mean of the children (recomputed). */
  value: Float64Array;
}

export interface LinearSet extends Common {
  kind: "linear";
  coef: Float64Array;
  intercept: number;
  reference: Float64Array;
}

export type ExplainModel = TreeSet | LinearSet;

function invalid(path: string, what: string): never {
  throw modelError(MODEL_ERROR_CODES.invalidExplain, `Invalid explain file ${path}: ${what}.`, {
    details: ["Fix: re-import the model with `att model import`."],
  });
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function numbers(path: string, what: string, raw: unknown, n: number, integer = false): number[] {
  if (
    !Array.isArray(raw) ||
    raw.length !== n ||
    !raw.every((v) => (integer ? Number.isInteger(v) : finite(v)))
  )
    invalid(path, `${what} must be an array of ${n} ${integer ? "integers" : "finite numbers"}`);
  return raw as number[];
}

/** Validates a parsed explain.json; `path` labels the messages. */
export function parseExplain(doc: unknown, path: string): ExplainModel {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) invalid(path, "not a JSON object");
  const d = doc as Record<string, unknown>;
  if (d.format !== EXPLAIN_FORMAT)
    invalid(path, `format ${JSON.stringify(d.format)}, expected "${EXPLAIN_FORMAT}"`);
  if (!Number.isInteger(d.n_features) || (d.n_features as number) < 1)
    invalid(path, "n_features must be a positive integer");
  const nFeatures = d.n_features as number;
  if (
    !Array.isArray(d.features) ||
    d.features.length !== nFeatures ||
    !d.features.every((f) => typeof f === "string")
  )
    invalid(path, `features must list ${nFeatures} names`);
  if (d.link !== "identity" && d.link !== "logistic")
    invalid(path, `link ${JSON.stringify(d.link)}, expected "identity" or "logistic"`);
  const common = { nFeatures, features: d.features as string[], link: d.link as "identity" | "logistic" };
  if (d.kind === "linear") {
    const coef = Float64Array.from(numbers(path, "coef", d.coef, nFeatures));
    const reference = Float64Array.from(numbers(path, "reference", d.reference, nFeatures));
    if (!finite(d.intercept)) invalid(path, "intercept must be a finite number");
    let base = d.intercept;
    for (let j = 0; j < nFeatures; j++) base += coef[j]! * reference[j]!;
    return { kind: "linear", ...common, coef, intercept: d.intercept, reference, baseValue: base };
  }
  if (d.kind !== "trees") invalid(path, `kind ${JSON.stringify(d.kind)}, expected "trees" or "linear"`);
  return parseTrees(d, path, common);
}

function parseTrees(
  d: Record<string, unknown>,
  path: string,
  common: Pick<TreeSet, "nFeatures" | "features" | "link">,
): TreeSet {
  if (d.aggregation !== "mean" && d.aggregation !== "sum")
    invalid(path, `aggregation ${JSON.stringify(d.aggregation)}, expected "mean" or "sum"`);
  if (!finite(d.base_offset)) invalid(path, "base_offset must be a finite number");
  if (!Array.isArray(d.trees) || d.trees.length === 0) invalid(path, "no trees");
  const trees = d.trees as Record<string, unknown>[];
  const sizes = trees.map((t, i) => {
    const n = Array.isArray(t?.left) ? t.left.length : 0;
    if (n === 0) invalid(path, `tree ${i} has no nodes`);
    return n;
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  const s: TreeSet = {
    kind: "trees",
    ...common,
    nTrees: trees.length,
    divisor: d.aggregation === "mean" ? trees.length : 1,
    baseOffset: d.base_offset,
    roots: new Int32Array(trees.length),
    left: new Int32Array(total),
    right: new Int32Array(total),
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    cover: new Float64Array(total),
    value: new Float64Array(total),
    baseValue: 0,
  };
  let off = 0;
  let base = 0;
  trees.forEach((tree, t) => {
    const n = sizes[t]!;
    const where = `tree ${t}`;
    const left = numbers(path, `${where}: left`, tree.left, n, true);
    const right = numbers(path, `${where}: right`, tree.right, n, true);
    const feature = numbers(path, `${where}: feature`, tree.feature, n, true);
    // Leaves may carry any threshold (scikit-learn writes -2); only inner nodes' must be finite.
    const threshold = Array.isArray(tree.threshold) && tree.threshold.length === n ? tree.threshold : null;
    if (!threshold) invalid(path, `${where}: threshold must be an array of ${n} numbers`);
    const cover = numbers(path, `${where}: cover`, tree.cover, n);
    const value = numbers(path, `${where}: value`, tree.value, n);
    s.roots[t] = off;
    const seen = new Uint8Array(n);
    const order: number[] = [];
    const stack = [0];
    while (stack.length) {
      const i = stack.pop()!;
      if (seen[i]) invalid(path, `${where}: node ${i} is reached twice`);
      seen[i] = 1;
      order.push(i);
      const isLeaf = left[i] === -1;
      if (isLeaf !== (right[i] === -1)) invalid(path, `${where}: node ${i} has exactly one child`);
      if (!(cover[i]! > 0)) invalid(path, `${where}: node ${i} has cover ${cover[i]}, expected > 0`);
      s.cover[off + i] = cover[i]!;
      if (isLeaf) {
        s.left[off + i] = s.right[off + i] = s.feature[off + i] = -1;
        s.value[off + i] = value[i]!;
        continue;
      }
      if (!(feature[i]! >= 0 && feature[i]! < common.nFeatures))
        invalid(
          path,
          `${where}: node ${i} splits on feature ${feature[i]}, outside 0..${common.nFeatures - 1}`,
        );
      if (!finite(threshold[i]))
        invalid(path, `${where}: node ${i} has a threshold that is not a finite number`);
      for (const c of [left[i]!, right[i]!]) {
        if (!(c > 0 && c < n)) invalid(path, `${where}: node ${i} has child ${c}, outside 1..${n - 1}`);
        stack.push(c);
      }
      s.feature[off + i] = feature[i]!;
      s.threshold[off + i] = threshold[i] as number;
      s.left[off + i] = off + left[i]!;
      s.right[off + i] = off + right[i]!;
    }
    if (order.length !== n)
      invalid(path, `${where}: ${n - order.length} nodes are unreachable from the root`);
    for (let k = order.length - 1; k >= 0; k--) {
      const i = off + order[k]!;
      const l = s.left[i]!;
      if (l === -1) continue;
      const r = s.right[i]!;
      s.value[i] = (s.cover[l]! * s.value[l]! + s.cover[r]! * s.value[r]!) / (s.cover[l]! + s.cover[r]!);
    }
    base += s.value[off]! / s.divisor;
    off += n;
  });
  s.baseValue = s.baseOffset + base;
  return s;
}

/** The margin (before the link) of one row, in float64. Rows are finite (checked before scoring). */
export function exactMargin(m: ExplainModel, row: Float32Array): number {
  if (m.kind === "linear") {
    let z = m.intercept;
    for (let j = 0; j < m.nFeatures; j++) z += m.coef[j]! * row[j]!;
    return z;
  }
  let sum = 0;
  for (let t = 0; t < m.nTrees; t++) {
    let i = m.roots[t]!;
    while (m.left[i]! !== -1) i = row[m.feature[i]!]! <= m.threshold[i]! ? m.left[i]! : m.right[i]!;
    sum += m.value[i]! / m.divisor;
  }
  return m.baseOffset + sum;
}

/** The link applied to a margin (scipy's expit for "logistic"). */
export function applyLink(m: ExplainModel, margin: number): number {
  return m.link === "logistic" ? 1 / (1 + Math.exp(-margin)) : margin;
}

/** Exact linear attribution coef_j (x_j − reference_j): sums to margin(x) − baseValue. */
export function linearAttributions(m: LinearSet, row: Float32Array, out: Float64Array): Float64Array {
  for (let j = 0; j < m.nFeatures; j++) out[j] = m.coef[j]! * (row[j]! - m.reference[j]!);
  return out;
}
