import type { Forest } from "../../src/model/forest.js";

/**
 * Lundberg's Algorithm 2 (path-dependent TreeSHAP, "Consistent Individualized Feature
 * Attribution for Tree Ensembles", 2018), ported from the shap package's C++ `tree_shap_recursive`
 * / `extend_path` / `unwind_path` / `unwound_path_sum`. Kept as the reference that the
 * leaf-by-leaf closed form in src/model/tree-shap.ts is tested and benchmarked against; the
 * worker uses that one. Test and bench code only.
 */
export function treeShapAlgorithm2(
  f: Forest,
  row: Float32Array,
  out = new Float64Array(f.nFeatures),
): Float64Array {
  out.fill(0);
  const maxD = f.maxDepth + 2;
  const size = ((maxD + 1) * (maxD + 2)) / 2;
  const feat = new Int32Array(size);
  const zf = new Float64Array(size);
  const of = new Float64Array(size);
  const pw = new Float64Array(size);

  const extend = (p: number, depth: number, z: number, o: number, fi: number): void => {
    feat[p + depth] = fi;
    zf[p + depth] = z;
    of[p + depth] = o;
    pw[p + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pw[p + i + 1]! += (o * pw[p + i]! * (i + 1)) / (depth + 1);
      pw[p + i] = (z * pw[p + i]! * (depth - i)) / (depth + 1);
    }
  };

  const unwind = (p: number, depth: number, pathIndex: number): void => {
    const o = of[p + pathIndex]!;
    const z = zf[p + pathIndex]!;
    let next = pw[p + depth]!;
    for (let i = depth - 1; i >= 0; i--) {
      if (o !== 0) {
        const tmp = pw[p + i]!;
        pw[p + i] = (next * (depth + 1)) / ((i + 1) * o);
        next = tmp - (pw[p + i]! * z * (depth - i)) / (depth + 1);
      } else {
        pw[p + i] = (pw[p + i]! * (depth + 1)) / (z * (depth - i));
      }
    }
    for (let i = pathIndex; i < depth; i++) {
      feat[p + i] = feat[p + i + 1]!;
      zf[p + i] = zf[p + i + 1]!;
      of[p + i] = of[p + i + 1]!;
    }
  };

  const unwoundSum = (p: number, depth: number, pathIndex: number): number => {
    const o = of[p + pathIndex]!;
    const z = zf[p + pathIndex]!;
    let next = pw[p + depth]!;
    let total = 0;
    if (o !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next / ((i + 1) * o);
        total += tmp;
        next = pw[p + i]! - tmp * z * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += pw[p + i]! / (z * (depth - i));
    }
    return total * (depth + 1);
  };

  const scale = 1 / f.nTrees;
  const recurse = (node: number, parent: number, depth: number, pz: number, po: number, pi: number): void => {
    // This node's path starts right after the parent's, which has at most `depth` elements.
    const p = parent + depth + 1;
    for (let i = 0; i < depth; i++) {
      feat[p + i] = feat[parent + i]!;
      zf[p + i] = zf[parent + i]!;
      of[p + i] = of[parent + i]!;
      pw[p + i] = pw[parent + i]!;
    }
    extend(p, depth, pz, po, pi);
    const l = f.left[node]!;
    if (l === -1) {
      for (let i = 1; i <= depth; i++) {
        const w = unwoundSum(p, depth, i);
        out[feat[p + i]!]! += w * (of[p + i]! - zf[p + i]!) * f.value[node]! * scale;
      }
      return;
    }
    const r = f.right[node]!;
    const split = f.feature[node]!;
    const [hot, cold] = row[split]! <= f.threshold[node]! ? [l, r] : [r, l];
    const total = f.cover[l]! + f.cover[r]!;
    let iz = 1;
    let io = 1;
    let d = depth;
    let k = 0;
    for (; k <= d; k++) if (feat[p + k] === split) break;
    if (k !== d + 1) {
      iz = zf[p + k]!;
      io = of[p + k]!;
      unwind(p, d, k);
      d -= 1;
    }
    recurse(hot, p, d + 1, (f.cover[hot]! / total) * iz, io, split);
    recurse(cold, p, d + 1, (f.cover[cold]! / total) * iz, 0, split);
  };

  for (let t = 0; t < f.nTrees; t++) recurse(f.roots[t]!, 0, 0, 1, 1, -1);
  return out;
}
