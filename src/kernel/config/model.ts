import { bool, int, num, oneOf, optional, str } from "./option.js";

/**
 * The scoring model: which folder to load, how onnxruntime runs it, how many rows go into one
 * call and where the Python tooling lives. Read by `att score`, `att tx`, `att replay` and `att model`.
 * (How many features an explanation names is the score stage's ATT_SCORE_EXPLAIN_TOP_K.)
 */
export const modelOptions = {
  registry: str(
    "ATT_MODEL_REGISTRY",
    "models/registry",
    "Model registry folder (one sub-folder per model version, plus a DEFAULT file naming the default); relative paths resolve against the working directory.",
  ),
  version: optional(
    str(
      "ATT_MODEL_VERSION",
      undefined,
      "Registry folder of the model to load; unset = the one named in <registry>/DEFAULT.",
      { pattern: /^[A-Za-z0-9._-]+$/, expected: "a registry folder name (letters, digits, . _ -)" },
    ),
  ),
  dir: optional(
    str(
      "ATT_MODEL_DIR",
      undefined,
      "Load the model from this folder instead of the registry (takes precedence over ATT_MODEL_VERSION).",
    ),
  ),
  threshold: optional(
    num(
      "ATT_MODEL_THRESHOLD",
      undefined,
      "Threshold on the model's score (positive, e.g. anomalous, iff score >= threshold); unset = the model card's threshold. In [0, 1] for anomaly scores and probabilities (checked at load against the card's score kind), any number for a decision function.",
    ),
  ),
  intraOpThreads: int(
    "ATT_MODEL_INTRA_OP_THREADS",
    1,
    "onnxruntime intra-op threads. Tree ensembles only split work across threads from 80 trees on, and extra threads compete with the event loop on small machines.",
    { min: 1, max: 64 },
  ),
  interOpThreads: int("ATT_MODEL_INTER_OP_THREADS", 1, "onnxruntime inter-op threads.", { min: 1, max: 64 }),
  graphOptimizationLevel: oneOf(
    "ATT_MODEL_GRAPH_OPTIMIZATION",
    ["disabled", "basic", "extended", "all"] as const,
    "all",
    "onnxruntime graph optimization level.",
  ),
  executionMode: oneOf(
    "ATT_MODEL_EXECUTION_MODE",
    ["sequential", "parallel"] as const,
    "sequential",
    "onnxruntime execution mode.",
  ),
  allowSpinning: bool(
    "ATT_MODEL_ALLOW_SPINNING",
    false,
    "Let onnxruntime's intra-op threads spin-wait between runs (lower latency, but burns a core while idle).",
  ),
  maxBatchSize: int(
    "ATT_MODEL_MAX_BATCH_SIZE",
    512,
    "Rows per onnxruntime call. run() blocks the event loop for the whole call, so this caps the event-loop stall (see bench/scoring.ts).",
    { min: 1, max: 65_536 },
  ),
  toolsDir: str(
    "ATT_MODEL_TOOLS_DIR",
    "model-tools",
    "Python model tooling folder (setup.sh, .venv) used by `att model import|train`.",
  ),
};
