import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { averagePathLength, expectedPathLength, parseForest, type Forest } from "../src/model/forest.js";
import { loadModel, type Model } from "../src/model/index.js";
import { treeShapAlgorithm2 } from "./helpers/tree-shap-reference.js";
import { createTreeExplainer } from "../src/model/tree-shap.js";
import { rng } from "./helpers/rng.js";
import { committedAttOriginalDir, defaultModelDir, randomRows, readForest } from "./model-fixtures.js";

const forests = [
  { name: "the registry's default model", dir: defaultModelDir() },
  ...(committedAttOriginalDir() ? [{ name: "the original ATT model", dir: committedAttOriginalDir()! }] : []),
];

describe("TreeSHAP attributions of the expected path length", () => {
  for (const { name, dir } of forests) {
    it(`${name}: sum to E[h(x)] minus the base value within 1e-6 on 3,000 random rows`, () => {
      const forest = readForest(dir);
      const explainer = createTreeExplainer(forest);
      expect(explainer.baseValue).toBeCloseTo(forest.baseValue, 12);
      let worst = 0;
      for (const row of randomRows(forest, 3000, 11)) {
        const phi = explainer.shap(row);
        const sum = phi.reduce((a, b) => a + b, 0);
        worst = Math.max(worst, Math.abs(sum - (expectedPathLength(forest, row) - explainer.baseValue)));
      }
      expect(worst).toBeLessThan(1e-6);
    });

    it(`${name}: equal Lundberg's Algorithm 2 feature by feature`, () => {
      const forest = readForest(dir);
      const explainer = createTreeExplainer(forest);
      for (const row of randomRows(forest, 300, 12)) {
        const fast = explainer.shap(row);
        const reference = treeShapAlgorithm2(forest, row);
        for (let j = 0; j < forest.nFeatures; j++)
          expect(Math.abs(fast[j]! - reference[j]!)).toBeLessThan(1e-9);
      }
    });
  }

  it("equal the Shapley values of E[f(x) | x_S] computed by brute force over every feature subset", () => {
    const forest = smallForest();
    const explainer = createTreeExplainer(forest);
    const random = rng(5);
    for (let r = 0; r < 50; r++) {
      const row = Float32Array.from({ length: forest.nFeatures }, () => Math.floor(random() * 10));
      const exact = bruteForceShapley(forest, row);
      const fast = explainer.shap(row);
      const alg2 = treeShapAlgorithm2(forest, row);
      for (let j = 0; j < forest.nFeatures; j++) {
        expect(Math.abs(fast[j]! - exact[j]!)).toBeLessThan(1e-12);
        expect(Math.abs(alg2[j]! - exact[j]!)).toBeLessThan(1e-12);
      }
    }
  });
});

describe("explanations of a row", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(defaultModelDir());
  });
  afterAll(() => model?.close());

  it("name the strongest features first, with the row's value and whether they raise or lower the anomaly score", () => {
    const rows = randomRows(readForest(model.dir), 200, 21);
    for (const row of rows) {
      const phi = model.attributions(row);
      const top = model.explain(row, 4);
      expect(top.length).toBeLessThanOrEqual(4);
      const magnitudes = top.map((a) => Math.abs(a.contribution));
      expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a));
      const strongest = Math.max(...Array.from(phi, Math.abs));
      if (top.length) expect(Math.abs(top[0]!.contribution)).toBe(strongest);
      for (const a of top) {
        const j = model.features.indexOf(a.feature);
        expect(a.value).toBe(row[j]);
        expect(a.contribution).toBe(-phi[j]!);
        expect(a.direction).toBe(a.contribution > 0 ? "raises" : "lowers");
      }
    }
  });

  it("blame the feature that made a transaction anomalous", async () => {
    // An ordinary transaction, then the same with an absurd transfer count.
    const row = new Float32Array(model.featureCount);
    const counts = model.features.indexOf("transfer_counts");
    row[counts] = 2;
    row[model.features.indexOf("tokens_type_counts")] = 1;
    const odd = row.slice();
    odd[counts] = 5000;
    const [normal, anomalous] = (await model.scoreBatch([row, odd])).map((r) => (r.ok ? r.score : NaN));
    expect(anomalous).toBeGreaterThan(normal!);
    const top = model.explain(odd, 3);
    expect(top[0]).toMatchObject({ feature: "transfer_counts", value: 5000, direction: "raises" });
  });
});

/**
 * Three trees over four features with a feature repeated on a path (the case Algorithm 2's
 * UNWIND exists for) and uneven covers.
 */
function smallForest(): Forest {
  // Leaf values must be depth + c(cover); the writer's invariant is checked by parseForest.
  const leaf = (depth: number, cover: number) => depth + averagePathLength(cover);
  const tree = (spec: {
    left: number[];
    right: number[];
    feature: number[];
    threshold: number[];
    cover: number[];
  }) => {
    const depth = new Array(spec.left.length).fill(0);
    spec.left.forEach((l, i) => {
      if (l >= 0) depth[l] = depth[spec.right[i]!] = depth[i] + 1;
    });
    const value = spec.cover.map((c, i) => (spec.left[i] === -1 ? leaf(depth[i], c) : 0));
    for (let i = spec.left.length - 1; i >= 0; i--) {
      const l = spec.left[i]!;
      const r = spec.right[i]!;
      if (l >= 0)
        value[i] =
          (spec.cover[l]! * value[l]! + spec.cover[r]! * value[r]!) / (spec.cover[l]! + spec.cover[r]!);
    }
    return { ...spec, missing_left: spec.left.map(() => 0), value };
  };
  const trees = [
    tree({
      left: [1, 3, 5, -1, -1, 7, -1, -1, -1],
      right: [2, 4, 6, -1, -1, 8, -1, -1, -1],
      feature: [0, 1, 0, -1, -1, 2, -1, -1, -1],
      threshold: [4.5, 2.5, 7.5, 0, 0, 5.5, 0, 0, 0],
      cover: [100, 30, 70, 10, 20, 45, 25, 5, 40],
    }),
    tree({
      left: [1, 3, -1, 5, -1, -1, -1],
      right: [2, 4, -1, 6, -1, -1, -1],
      feature: [3, 3, -1, 1, -1, -1, -1],
      threshold: [6.5, 2.5, 0, 4.5, 0, 0, 0],
      cover: [100, 60, 40, 35, 25, 11, 24],
    }),
    tree({
      left: [1, -1, 3, -1, -1],
      right: [2, -1, 4, -1, -1],
      feature: [2, -1, 0, -1, -1],
      threshold: [3.5, 0, 1.5, 0, 0],
      cover: [100, 44, 56, 3, 53],
    }),
  ];
  return parseForest(
    {
      format: "att-forest/1",
      n_features: 4,
      features: null,
      n_trees: 3,
      max_samples: 256,
      average_path_length_max_samples: averagePathLength(256),
      trees,
    },
    "small forest",
  );
}

/** Algorithm 1: E[f(x) | x_S], following x on features in S and both children by cover elsewhere. */
function conditionalExpectation(f: Forest, row: Float32Array, inS: (j: number) => boolean): number {
  const walk = (i: number): number => {
    if (f.left[i] === -1) return f.value[i]!;
    const l = f.left[i]!;
    const r = f.right[i]!;
    if (inS(f.feature[i]!)) return walk(row[f.feature[i]!]! <= f.threshold[i]! ? l : r);
    return (f.cover[l]! * walk(l) + f.cover[r]! * walk(r)) / (f.cover[l]! + f.cover[r]!);
  };
  let sum = 0;
  for (let t = 0; t < f.nTrees; t++) sum += walk(f.roots[t]!);
  return sum / f.nTrees;
}

function bruteForceShapley(f: Forest, row: Float32Array): Float64Array {
  const n = f.nFeatures;
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Float64Array(n);
  for (let mask = 0; mask < 1 << n; mask++) {
    const size = popcount(mask);
    const v = conditionalExpectation(f, row, (j) => (mask & (1 << j)) !== 0);
    for (let i = 0; i < n; i++) {
      if (mask & (1 << i)) continue;
      const withI = conditionalExpectation(f, row, (j) => j === i || (mask & (1 << j)) !== 0);
      phi[i]! += ((fact(size) * fact(n - size - 1)) / fact(n)) * (withI - v);
    }
  }
  return phi;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}
