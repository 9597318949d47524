import type { Config } from "../kernel/config/index.js";
import { loadModel, type LoadModelOptions } from "./load.js";
import type { Model } from "./model.js";
import { resolveModelDir } from "./registry.js";

/** The model folder and loader options from the `model` configuration section. */
export function modelSettingsFromConfig(c: Config["model"]): {
  dir: string;
  load: LoadModelOptions;
} {
  return {
    dir: c.dir ?? resolveModelDir(c.registry, c.version),
    load: {
      session: {
        intraOpThreads: c.intraOpThreads,
        interOpThreads: c.interOpThreads,
        graphOptimizationLevel: c.graphOptimizationLevel,
        executionMode: c.executionMode,
        allowSpinning: c.allowSpinning,
      },
      threshold: c.threshold,
      maxBatchSize: c.maxBatchSize,
    },
  };
}

/**
 * The model the configuration names (ATT_MODEL_DIR, else ATT_MODEL_VERSION in ATT_MODEL_REGISTRY,
 * else the registry's DEFAULT), loaded and verified.
 */
export async function loadConfiguredModel(c: Config["model"]): Promise<Model> {
  const s = modelSettingsFromConfig(c);
  return loadModel(s.dir, s.load);
}
