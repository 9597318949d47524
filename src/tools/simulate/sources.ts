import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../../kernel/config/index.js";
import { ConfigError } from "../../kernel/errors.js";
import type { ModelCard } from "../../model/card.js";
import { readCard } from "../../model/load.js";
import { resolveModelDir } from "../../model/registry.js";
import { marginalsFromCard } from "./card-marginals.js";
import { loadMarginals, type Marginals } from "./marginals.js";
import { resolveTokens, type TokenSpec } from "./tokens.js";

/** What the simulator is calibrated with: the model it feeds, its tokens, the marginals. */
export interface SimulationSources {
  card?: ModelCard;
  modelDir?: string;
  tokens: TokenSpec[];
  tokensFrom: string;
  marginals: Marginals;
  marginalsFrom: string;
}

/**
 * Reads the model card the pipeline will score with (ATT_MODEL_DIR / ATT_MODEL_VERSION / the
 * registry's DEFAULT), takes its tokens, and the marginals from ATT_SIMULATE_MARGINALS — or,
 * when that is unset or absent, the card's training histograms (everything in the repository).
 */
export async function loadSimulationSources(
  config: Pick<Config, "model" | "simulate">,
): Promise<SimulationSources> {
  let card: ModelCard | undefined;
  let modelDir: string | undefined;
  try {
    modelDir = config.model.dir ?? resolveModelDir(config.model.registry, config.model.version);
    card = await readCard(modelDir);
  } catch (err) {
    if (config.model.dir || config.model.version) throw err;
    modelDir = undefined; // no registry: the built-in token list and the marginals file only
  }
  const { tokens, from: tokensFrom } = resolveTokens(
    card ? { card, cardPath: resolve(modelDir!, "model.json") } : {},
  );
  const file = config.simulate.marginals;
  let marginals: Marginals | undefined;
  let marginalsFrom: string;
  if (file !== undefined && existsSync(file)) {
    marginals = loadMarginals(file);
    marginalsFrom = file;
  } else {
    marginals = card ? marginalsFromCard(card) : undefined;
    marginalsFrom = marginals?.source ?? "";
  }
  if (!marginals) {
    throw new ConfigError(
      "No traffic calibration: no marginals file and the model card has no training histograms",
      {
        details: [
          `ATT_SIMULATE_MARGINALS: ${file === undefined ? "unset" : `${file} (absent)`}`,
          "Fix: set ATT_SIMULATE_MARGINALS (or --marginals) to training_marginals.json, or use a model whose card has training.feature_histograms.",
        ],
      },
    );
  }
  return {
    ...(card ? { card } : {}),
    ...(modelDir ? { modelDir } : {}),
    tokens,
    tokensFrom,
    marginals,
    marginalsFrom,
  };
}
