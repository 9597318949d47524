/**
 * One feature's share in a row's score, for findings and `att model score --explain`.
 *
 * Positive `contribution` always means "pushed the row towards the positive side" (ANOMALOUS,
 * or the card's positive label). For an IsolationForest it is in expected-path-length units
 * with the sign flipped (anomalies are isolated in fewer splits, and a shorter path is a higher
 * score; contributions sum to baseValue - E[h(x)]); for other models it is the explained
 * quantity itself (the margin of boosted and linear models, the probability of averaged
 * forests; contributions sum to f(x) - baseValue).
 */
export interface Attribution {
  feature: string;
  /** The row's value of the feature (as the model saw it, float32). */
  value: number;
  contribution: number;
  direction: "raises" | "lowers";
}

/**
 * The `k` features with the largest |contribution|, strongest first; features that did not
 * contribute at all are left out.
 */
export function topAttributions(
  phi: Float64Array,
  row: Float32Array,
  features: readonly string[],
  k: number,
  /** -1 when a negative φ raises the score (the IsolationForest's path length), else 1. */
  sign: 1 | -1 = -1,
): Attribution[] {
  const order: number[] = [];
  for (let j = 0; j < phi.length; j++) if (phi[j] !== 0) order.push(j);
  order.sort((a, b) => Math.abs(phi[b]!) - Math.abs(phi[a]!) || a - b);
  return order.slice(0, Math.max(0, k)).map((j) => {
    const contribution = sign * phi[j]!;
    return {
      feature: features[j]!,
      value: row[j]!,
      contribution,
      direction: contribution > 0 ? "raises" : "lowers",
    };
  });
}
