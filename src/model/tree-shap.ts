import type { Forest } from "./forest.js";

/**
 * The trees TreeSHAP reads: an IsolationForest's forest.json (leaf weights depth + c(n), averaged)
 * or explain.json's trees (att-explain/1: any leaf values, averaged or summed). A tree's output
 * is value / divisor; divisor defaults to nTrees (the mean).
 */
export type ShapTrees = Pick<
  Forest,
  | "nTrees"
  | "nFeatures"
  | "roots"
  | "left"
  | "right"
  | "feature"
  | "threshold"
  | "cover"
  | "value"
  | "baseValue"
> & { divisor?: number };

/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018/2020) of a tree ensemble's output
 * Σ_t value(leaf_t(x)) / divisor — the IsolationForest's expected path length E[h(x)], a forest's
 * averaged probability, a boosted model's raw margin — computed leaf by leaf.
 *
 * Path-dependent TreeSHAP explains the game v(S) = E[f(x) | x_S] where a split on a feature
 * outside S follows both children weighted by training cover (Algorithm 1). Grouped by leaf,
 * v(S) = sum over leaves of  value(leaf) * prod over the path's distinct features j of
 *        (j in S ? o_j : z_j)
 * with z_j the product of cover ratios of the path's splits on j and o_j = 1 iff x satisfies
 * all of them (an interval lo_j < x_j <= hi_j). Shapley values of such a product game have a
 * closed form; with A = {j : o_j = 1}, B = the others, d = |A| + |B|, P_B = prod_{B} z_j,
 * e_k(.) the elementary symmetric polynomials and w(k, d) = k! (d-k-1)! / d!:
 *   j in B:  phi_j += -value * P_B * sum_k w(k, d) e_{|A|-k}(z_A)            (same for every j in B)
 *   j in A:  phi_j +=  value * (1 - z_j) * P_B * sum_k w(k, d) e_{|A|-1-k}(z_{A \ j})
 * These are exactly Algorithm 2's values (test/model-explain.test.ts checks both against each
 * other and against brute-force Shapley values). Everything that does not depend on x — the
 * per-leaf feature lists, z_j, the intervals and w — is precomputed at load time, so a row costs
 * sum over leaves of O(d + |A|^2) without recursion or path copies.
 *
 * Attributions are in the output's units and sum to output(x) - baseValue (for an
 * IsolationForest: path-length units; a negative attribution shortens the path, which raises
 * the anomaly score).
 */
export interface TreeExplainer {
  /** E[h] over the training cover (mean over trees of the root's cover-weighted value). */
  readonly baseValue: number;
  readonly nFeatures: number;
  /** Per-feature attributions of E[h(x)]; written into `out` (zeroed first) when given. */
  shap(row: Float32Array, out?: Float64Array): Float64Array;
}

interface LeafPaths {
  /** Offset of each leaf's path in the flat path arrays; length nLeaves + 1. */
  start: Int32Array;
  /** value(leaf) / nTrees: the leaf's contribution to E[h]. */
  value: Float64Array;
  feature: Int32Array;
  z: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  maxLen: number;
}

/** Every leaf's distinct path features with their cover fraction and the x-interval that leads there. */
function collectLeafPaths(f: ShapTrees): LeafPaths {
  const divisor = f.divisor ?? f.nTrees;
  const start = [0];
  const value: number[] = [];
  const feature: number[] = [];
  const z: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  let maxLen = 0;
  // The current root-to-node path, one entry per distinct feature.
  const pf: number[] = [];
  const pz: number[] = [];
  const plo: number[] = [];
  const phi: number[] = [];

  const walk = (node: number): void => {
    const l = f.left[node]!;
    if (l === -1) {
      value.push(f.value[node]! / divisor);
      feature.push(...pf);
      z.push(...pz);
      lo.push(...plo);
      hi.push(...phi);
      start.push(feature.length);
      maxLen = Math.max(maxLen, pf.length);
      return;
    }
    const r = f.right[node]!;
    const j = f.feature[node]!;
    const t = f.threshold[node]!;
    const total = f.cover[l]! + f.cover[r]!;
    for (const child of [l, r]) {
      const goesLeft = child === l;
      const ratio = f.cover[child]! / total;
      const k = pf.indexOf(j);
      if (k < 0) {
        pf.push(j);
        pz.push(ratio);
        plo.push(goesLeft ? -Infinity : t);
        phi.push(goesLeft ? t : Infinity);
        walk(child);
        pf.pop();
        pz.pop();
        plo.pop();
        phi.pop();
      } else {
        const [z0, lo0, hi0] = [pz[k]!, plo[k]!, phi[k]!];
        pz[k] = z0 * ratio;
        if (goesLeft) phi[k] = Math.min(hi0, t);
        else plo[k] = Math.max(lo0, t);
        walk(child);
        [pz[k], plo[k], phi[k]] = [z0, lo0, hi0];
      }
    }
  };
  for (let t = 0; t < f.nTrees; t++) walk(f.roots[t]!);
  return {
    start: Int32Array.from(start),
    value: Float64Array.from(value),
    feature: Int32Array.from(feature),
    z: Float64Array.from(z),
    lo: Float64Array.from(lo),
    hi: Float64Array.from(hi),
    maxLen,
  };
}

/** w(k, d) = k! (d-k-1)! / d! for 0 <= k < d <= maxD, row-major with stride maxD + 1. */
function shapleyWeights(maxD: number): Float64Array {
  const fact = [1];
  for (let i = 1; i <= maxD; i++) fact.push(fact[i - 1]! * i);
  const w = new Float64Array((maxD + 1) * (maxD + 1));
  for (let d = 1; d <= maxD; d++) {
    for (let k = 0; k < d; k++) w[d * (maxD + 1) + k] = (fact[k]! * fact[d - k - 1]!) / fact[d]!;
  }
  return w;
}

export function createTreeExplainer(forest: ShapTrees): TreeExplainer {
  const p = collectLeafPaths(forest);
  const stride = p.maxLen + 1;
  const W = shapleyWeights(p.maxLen);
  const nLeaves = p.value.length;
  const aIdx = new Int32Array(p.maxLen);
  const inA = new Uint8Array(p.maxLen);
  const e = new Float64Array(p.maxLen + 1);

  const { start, feature, z, lo, hi } = p;
  const leafValue = p.value;

  function shap(row: Float32Array, out = new Float64Array(forest.nFeatures)): Float64Array {
    out.fill(0);
    for (let leaf = 0; leaf < nLeaves; leaf++) {
      const s = start[leaf]!;
      const d = start[leaf + 1]! - s;
      if (d === 0) continue; // a single-leaf tree explains nothing
      const v = leafValue[leaf]!;
      let a = 0;
      let pB = 1;
      // Branch-free: whether x follows the path is a coin flip per entry, and mispredicted
      // branches cost more here than the arithmetic.
      for (let m = 0; m < d; m++) {
        const x = row[feature[s + m]!]!;
        const o = +(x > lo[s + m]!) & +(x <= hi[s + m]!);
        aIdx[a] = s + m;
        a += o;
        inA[m] = o;
        const zm = z[s + m]!;
        pB *= zm + o * (1 - zm);
      }
      // e_k(z_A), k = 0..a
      e[0] = 1;
      for (let k = 1; k <= a; k++) e[k] = 0;
      for (let i = 0; i < a; i++) {
        const zi = z[aIdx[i]!]!;
        for (let k = i + 1; k >= 1; k--) e[k]! += zi * e[k - 1]!;
      }
      const wd = d * stride;
      if (a < d) {
        let cB = 0;
        for (let k = 0; k <= a; k++) cB += W[wd + k]! * e[a - k]!;
        const share = -v * pB * cB;
        for (let m = 0; m < d; m++) if (!inA[m]) out[feature[s + m]!]! += share;
      }
      for (let i = 0; i < a; i++) {
        const idx = aIdx[i]!;
        const zi = z[idx]!;
        // q = e(z_A) / (1 + zi t): q_0 = 1, q_k = e_k - zi q_{k-1}; sum_k w(k, d) q_{a-1-k}
        let q = 1;
        let sum = W[wd + a - 1]!;
        for (let k = 1; k < a; k++) {
          q = e[k]! - zi * q;
          sum += W[wd + a - 1 - k]! * q;
        }
        out[feature[idx]!]! += v * (1 - zi) * pB * sum;
      }
    }
    return out;
  }

  return { baseValue: forest.baseValue, nFeatures: forest.nFeatures, shap };
}
