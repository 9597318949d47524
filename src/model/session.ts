import type { InferenceSession } from "onnxruntime-node";
import type { ModelCard } from "./card.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";
import { ONNX_FLOAT, readOnnxSummary, type OnnxModelSummary } from "./onnx-proto.js";

/** onnxruntime session settings (ATT_MODEL_* options, see src/kernel/config/model.ts). */
export interface SessionSettings {
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
  executionMode: "sequential" | "parallel";
  /** false = `allow_spinning: "0"`: idle intra-op threads sleep instead of burning a core. */
  allowSpinning: boolean;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  allowSpinning: false,
};

/**
 * Opsets this worker is built and tested for: the compact export uses ai.onnx 17 and
 * ai.onnx.ml 3 (TreeEnsembleRegressor); ai.onnx.ml 5 (TreeEnsemble) also runs in
 * onnxruntime-node 1.30. Anything newer is refused rather than half-trusted.
 */
export const SUPPORTED_OPSETS: Record<string, { min: number; max: number }> = {
  "": { min: 7, max: 21 },
  "ai.onnx.ml": { min: 1, max: 5 },
};

export const SCORE_OUTPUT = "score";
export const PATH_LENGTH_OUTPUT = "path_length";

function unsupported(path: string, what: string, details: string[]): never {
  throw modelError(MODEL_ERROR_CODES.unsupportedOnnx, `ONNX model ${path}: ${what}.`, { details });
}

/** Reads the graph summary, refusing bytes that are not an ONNX model. */
export function summarizeOnnx(bytes: Uint8Array, path: string): OnnxModelSummary {
  try {
    return readOnnxSummary(bytes);
  } catch (err) {
    return unsupported(path, "not a readable ONNX ModelProto", [`Cause: ${(err as Error).message}`]);
  }
}

function formatShape(shape: (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/**
 * Checks the graph against the card and this worker: opsets (the card's and the file's must be
 * the same, and supported), one float32 input [N, n_features] named as the card says, and a
 * float32 `score` output [N, 1] (att-model/2: or [N]) plus every output the card lists.
 */
export function checkOnnxGraph(g: OnnxModelSummary, card: ModelCard, path: string): void {
  const fileOpsets = JSON.stringify(Object.entries(g.opsets).sort());
  const cardOpsets = JSON.stringify(
    Object.entries(card.onnx.opsets)
      .map(([d, v]) => [d === "ai.onnx" ? "" : d, v])
      .sort(),
  );
  if (fileOpsets !== cardOpsets) {
    unsupported(path, "opsets differ from the model card", [`File: ${fileOpsets}`, `Card: ${cardOpsets}`]);
  }
  for (const [domain, version] of Object.entries(g.opsets)) {
    const range = SUPPORTED_OPSETS[domain];
    if (!range || version < range.min || version > range.max) {
      unsupported(path, `opset ${domain || "ai.onnx"} ${version} is not supported`, [
        `Supported: ${Object.entries(SUPPORTED_OPSETS)
          .map(([d, r]) => `${d || "ai.onnx"} ${r.min}..${r.max}`)
          .join(", ")}`,
      ]);
    }
  }
  const width = card.features.length;
  if (g.inputs.length !== 1 || g.inputs[0]!.name !== card.onnx.input) {
    unsupported(path, `expected exactly one input named "${card.onnx.input}"`, [
      `Got: ${g.inputs.map((i) => i.name).join(", ") || "none"}`,
    ]);
  }
  const input = g.inputs[0]!;
  if (input.elemType !== ONNX_FLOAT || input.shape.length !== 2) {
    unsupported(path, `input "${input.name}" must be a float32 matrix [N, ${width}]`, [
      `Got: element type ${input.elemType}, shape ${formatShape(input.shape)}`,
    ]);
  }
  if (input.shape[1] !== width) {
    throw modelError(
      MODEL_ERROR_CODES.unknownFeatures,
      `ONNX model ${path} takes ${String(input.shape[1])} features but the card lists ${width}.`,
      {
        details: [
          `ONNX input shape: ${formatShape(input.shape)}`,
          "Fix: the card and model.onnx come from different models; re-export the folder.",
        ],
      },
    );
  }
  const outputs = new Map(g.outputs.map((o) => [o.name, o]));
  const missing = [SCORE_OUTPUT, ...card.onnx.outputs].filter((o) => !outputs.has(o));
  if (missing.length)
    unsupported(path, `missing output ${missing.join(", ")}`, [`Outputs: ${[...outputs.keys()].join(", ")}`]);
  // att-model/2 graphs may give the score as [N] too (docs/model-formats.md).
  const vector = card.format !== "att-model/1";
  for (const name of [SCORE_OUTPUT, PATH_LENGTH_OUTPUT]) {
    const o = outputs.get(name);
    const column = o !== undefined && o.shape.length === 2 && o.shape[1] === 1;
    const flat = vector && o !== undefined && o.shape.length === 1;
    if (o && (o.elemType !== ONNX_FLOAT || !(column || flat))) {
      unsupported(path, `output "${name}" must be float32 [N, 1]${vector ? " or [N]" : ""}`, [
        `Got: element type ${o.elemType}, shape ${formatShape(o.shape)}`,
      ]);
    }
  }
}

/** Creates the onnxruntime session from the verified bytes (never re-read from disk). */
export async function createSession(
  bytes: Uint8Array,
  settings: SessionSettings,
  path: string,
): Promise<InferenceSession> {
  const ort = await import("onnxruntime-node");
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: settings.intraOpThreads,
      interOpNumThreads: settings.interOpThreads,
      graphOptimizationLevel: settings.graphOptimizationLevel,
      executionMode: settings.executionMode,
      extra: { session: { intra_op: { allow_spinning: settings.allowSpinning ? "1" : "0" } } },
    });
  } catch (err) {
    throw modelError(MODEL_ERROR_CODES.runtime, `onnxruntime could not create a session for ${path}.`, {
      cause: err,
    });
  }
}
