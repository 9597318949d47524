import { ConfigError } from "../../kernel/errors.js";
import { round3, type TxPlan } from "./generator.js";
import type { Random } from "./random.js";
import type { TokenSpec } from "./tokens.js";

/**
 * A lasting shift in the traffic mix (issue 16's model loop): from a point in the run on, a
 * share of the normal transactions also move a given token — a token that became popular
 * (an airdrop, a new pool) — so production stops looking like the training data while
 * staying normal traffic. The drift monitor sees it (the token's features move), and a model
 * retrained on the shifted window learns it.
 */
export interface MixShift {
  /** Per token symbol, the share (0–1] of normal transactions that get one of its transfers. */
  tokens: { symbol: string; share: number }[];
}

/** "SHIB:0.8" or "SHIB:0.8,SAND:0.3". */
export function parseMixShift(raw: string, known: readonly TokenSpec[]): MixShift {
  const symbols = new Set(known.map((t) => t.symbol));
  const tokens = raw.split(",").map((part) => {
    const m = /^\s*([A-Za-z0-9]+)\s*:\s*([\d.]+)\s*$/.exec(part);
    const share = m ? Number(m[2]) : NaN;
    if (!m || !(share > 0 && share <= 1) || !symbols.has(m[1]!)) {
      throw new ConfigError(`Invalid --shift-mix: got ${JSON.stringify(raw)}`, {
        details: [
          "Expected: SYMBOL:SHARE[,SYMBOL:SHARE…], a token of the model and a share in (0, 1], e.g. SHIB:0.8",
          `Tokens: ${[...symbols].join(", ")}`,
        ],
      });
    }
    return { symbol: m[1]!, share };
  });
  return { tokens };
}

/**
 * The plan with the shift applied: each shifted token absent from it is added, with its share's
 * probability, as one transfer of a log-uniform amount between 10 and 100,000 tokens.
 */
export function applyMixShift(
  plan: TxPlan,
  shift: MixShift,
  rng: Random,
  bySymbol: ReadonlyMap<string, TokenSpec>,
): TxPlan {
  const transfers = [...plan.transfers];
  for (const { symbol, share } of shift.tokens) {
    const token = bySymbol.get(symbol);
    if (!token || transfers.some((t) => t.token.symbol === symbol) || rng.next() >= share) continue;
    const amount = round3(Math.exp(Math.log(10) + rng.next() * (Math.log(100_000) - Math.log(10))));
    transfers.push({ token, amount });
  }
  if (transfers.length === plan.transfers.length) return plan;
  const kind = transfers.length <= 1 ? "single" : transfers.length <= 3 ? "swap" : "batch";
  return { ...plan, kind, transfers };
}
