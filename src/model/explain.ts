/**
 * One feature's share in a row's anomaly score, for findings and `att model score --explain`.
 *
 * `contribution` is in expected-path-length units with the sign flipped, so that positive
 * means "made the transaction look more anomalous": an IsolationForest isolates anomalies in
 * fewer splits, and a shorter path is a higher score. Over all features, contributions sum to
 * baseValue - E[h(x)].
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
): Attribution[] {
  const order: number[] = [];
  for (let j = 0; j < phi.length; j++) if (phi[j] !== 0) order.push(j);
  order.sort((a, b) => Math.abs(phi[b]!) - Math.abs(phi[a]!) || a - b);
  return order.slice(0, Math.max(0, k)).map((j) => {
    const contribution = -phi[j]!;
    return {
      feature: features[j]!,
      value: row[j]!,
      contribution,
      direction: contribution > 0 ? "raises" : "lowers",
    };
  });
}
