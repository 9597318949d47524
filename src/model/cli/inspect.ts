import { loadModel, type LoadModelOptions } from "../load.js";

export interface ModelSummary {
  dir: string;
  version: string;
  created_at?: string;
  source?: string;
  features: readonly string[];
  threshold: number;
  card_threshold: number;
  training: {
    n_rows?: number | null;
    anomaly_rate?: number | null;
    score_quantiles?: Record<string, number>;
  };
  trees?: number;
  max_samples?: number;
  /** E[h] over the training cover, the reference point of attributions (IsolationForest). */
  base_path_length?: number;
  /** att-model/2: the estimator, what the score means, the import's parity report, explanations. */
  estimator?: { kind: string; class: string; steps: string[]; sklearn_version: string; saved_as: string };
  score?: { kind: string; labels: { positive: string; negative: string }; description: string };
  parity?: Record<string, unknown> | null;
  explain?: { method: string; space: string; base_value: number } | { unavailable: string };
  files: Record<string, { sha256: string; verified: true }>;
  onnx: { input: string; outputs: string[]; opsets: Record<string, number> };
}

/**
 * Loads the model exactly as the worker would — every file hash, the card, the ONNX graph, the
 * forest — and summarizes it. A model that fails any check throws the same error `att score` would.
 */
export async function inspectModel(dir: string, options: LoadModelOptions = {}): Promise<ModelSummary> {
  const model = await loadModel(dir, options);
  try {
    const c = model.card;
    return {
      dir: model.dir,
      version: model.version,
      ...(c.created_at ? { created_at: c.created_at } : {}),
      ...((c.source as { kind?: string } | undefined)?.kind
        ? { source: (c.source as { kind: string }).kind }
        : {}),
      features: model.features,
      threshold: model.threshold,
      card_threshold: c.threshold,
      training: {
        n_rows: c.training?.n_rows,
        anomaly_rate: c.training?.anomaly_rate,
        ...(c.training?.score_quantiles ? { score_quantiles: c.training.score_quantiles } : {}),
      },
      ...(c.n_estimators ? { trees: c.n_estimators } : {}),
      ...(c.max_samples ? { max_samples: c.max_samples } : {}),
      ...(model.kind === "isolation_forest" ? { base_path_length: model.baseValue } : {}),
      ...(c.format === "att-model/2"
        ? {
            estimator: {
              kind: c.estimator.kind,
              class: c.estimator.class,
              steps: c.estimator.steps.map((st) => `${st.name}: ${st.class}`),
              sklearn_version: c.estimator.sklearn_version,
              saved_as: c.estimator.saved_as,
            },
            score: { kind: c.score.kind, labels: c.score.labels, description: c.score.description },
            parity: c.parity ?? null,
            explain: c.explain
              ? { method: c.explain.method, space: c.explain.space, base_value: model.baseValue }
              : { unavailable: c.explain_unavailable ?? "the card gives no reason" },
          }
        : {}),
      files: Object.fromEntries(
        Object.entries(c.files).map(([name, f]) => [name, { sha256: f.sha256, verified: true as const }]),
      ),
      onnx: { input: c.onnx.input, outputs: c.onnx.outputs, opsets: c.onnx.opsets },
    };
  } finally {
    await model.close();
  }
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "unknown" : `${(x * 100).toFixed(3)} %`;

export function formatSummary(s: ModelSummary): string {
  const lines = [
    `model ${s.version}${s.source ? ` (${s.source})` : ""}`,
    `  folder            ${s.dir}`,
    ...(s.created_at ? [`  created           ${s.created_at}`] : []),
    ...(s.estimator
      ? [
          `  estimator         ${s.estimator.kind} (${s.estimator.class}), scikit-learn ${s.estimator.sklearn_version}, saved as ${s.estimator.saved_as}`,
          ...(s.estimator.steps.length ? [`  pipeline steps    ${s.estimator.steps.join(", ")}`] : []),
        ]
      : []),
    ...(s.score
      ? [
          `  score             ${s.score.kind}: ${s.score.description}`,
          `  labels            ${s.score.labels.positive} iff score >= threshold, else ${s.score.labels.negative}`,
        ]
      : []),
    `  threshold         ${s.threshold}${s.threshold !== s.card_threshold ? ` (card: ${s.card_threshold})` : ""}  — ${s.score ? s.score.labels.positive : "anomalous"} iff score >= threshold`,
    ...(s.parity === undefined ? [] : [`  parity            ${formatParity(s.parity)}`]),
    ...(s.explain
      ? [
          "unavailable" in s.explain
            ? `  explanations      none: ${s.explain.unavailable}`
            : `  explanations      ${s.explain.method} on the ${s.explain.space}, base value ${s.explain.base_value.toFixed(6)}`,
        ]
      : []),
    `  training rows     ${s.training.n_rows ?? "unknown"}`,
    `  training anomaly  ${pct(s.training.anomaly_rate)} at the card threshold`,
    ...(s.trees && s.base_path_length !== undefined
      ? [
          `  forest            ${s.trees} trees, max_samples ${s.max_samples ?? "?"}, base path length ${s.base_path_length.toFixed(4)}`,
        ]
      : []),
    `  onnx              input ${s.onnx.input}, outputs ${s.onnx.outputs.join(", ")}, opsets ${Object.entries(
      s.onnx.opsets,
    )
      .map(([d, v]) => `${d || "ai.onnx"} ${v}`)
      .join(", ")}`,
  ];
  if (s.training.score_quantiles) {
    lines.push(
      `  score quantiles   ${Object.entries(s.training.score_quantiles)
        .map(([q, v]) => `${q} ${v.toFixed(4)}`)
        .join("  ")}`,
    );
  }
  lines.push("  files");
  for (const [name, f] of Object.entries(s.files))
    lines.push(`    ${name.padEnd(14)} sha256 ${f.sha256}  verified`);
  lines.push(`  features (${s.features.length}, in model order)`);
  for (let i = 0; i < s.features.length; i += 4)
    lines.push(
      `    ${s.features
        .slice(i, i + 4)
        .map((f) => f.padEnd(34))
        .join("")
        .trimEnd()}`,
    );
  return lines.join("\n") + "\n";
}

function formatParity(p: Record<string, unknown> | null): string {
  if (p === null) return "not measured (no scikit-learn reference: an imported .onnx file)";
  const tol = p.tolerance as { rel?: number; rule?: string } | undefined;
  return `${p.passed ? "passed" : "FAILED"} on ${String(p.rows)} ${String(p.source)} rows: ${String(p.ours)} vs ${String(p.reference)}, max |diff| ${Number(p.max_abs_diff).toExponential(2)}, max rel ${Number(p.max_rel_diff).toExponential(2)} (${tol?.rule ?? `rel ${tol?.rel}`}), ${String(p.prediction_mismatches)} prediction mismatches`;
}
