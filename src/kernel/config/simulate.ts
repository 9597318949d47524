import { int, num, optional, str } from "./option.js";

/**
 * `att simulate` and `att demo`'s traffic simulator: what it sends, how fast, and where its
 * calibration data and records live. The node comes from the chain section
 * (ATT_RPC_HTTP_URL) unless `--rpc` overrides it.
 */
export const simulateOptions = {
  rate: num("ATT_SIMULATE_RATE", 20, "Normal transactions sent per second.", { min: 0.1, max: 5000 }),
  exploitsPerMinute: num(
    "ATT_SIMULATE_EXPLOITS_PER_MINUTE",
    12,
    "Exploit-like transactions injected per minute (0 = none).",
    { min: 0, max: 6000 },
  ),
  accounts: int(
    "ATT_SIMULATE_ACCOUNTS",
    400,
    "Established sender accounts created (each with a first transaction back-dated to its sampled age).",
    { min: 1, max: 100_000 },
  ),
  seed: optional(
    int("ATT_SIMULATE_SEED", undefined, "Random seed; unset = a new seed per run (printed).", { min: 0 }),
  ),
  marginals: optional(
    str(
      "ATT_SIMULATE_MARGINALS",
      undefined,
      "training_marginals.json (per-feature statistics of the real training set) to calibrate the traffic to; relative paths resolve against the working directory. Unset, or a file that is absent: the model card's training histograms.",
    ),
  ),
  exploitsLog: optional(
    str(
      "ATT_SIMULATE_EXPLOITS_LOG",
      undefined,
      "JSONL file that receives one line per injected exploit transaction (hash, sender, template); unset = none.",
    ),
  ),
  maxAgeYears: num(
    "ATT_SIMULATE_MAX_AGE_YEARS",
    7.5,
    "Oldest account age the chain must accommodate: the genesis timestamp `att demo` gives its node, and the cap on sampled ages.",
    { min: 0, max: 50 },
  ),
  maxPending: int(
    "ATT_SIMULATE_MAX_PENDING",
    5000,
    "Sent but not yet mined transactions above which the sender pauses (backpressure from a slow node).",
    { min: 10, max: 1_000_000 },
  ),
};
