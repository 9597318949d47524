import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/kernel/config/index.js";
import { createTrafficGenerator } from "../src/tools/simulate/generator.js";
import { applyMixShift, parseMixShift } from "../src/tools/simulate/mix-shift.js";
import { createRandom } from "../src/tools/simulate/random.js";
import { loadSimulationSources } from "../src/tools/simulate/sources.js";

async function sources() {
  return loadSimulationSources(loadConfig({ ...process.env, ATT_LOG_LEVEL: "warn" }));
}

describe("att simulate --shift-mix", () => {
  it("parses SYMBOL:SHARE lists of the model's tokens and refuses anything else with Got/Expected", async () => {
    const { tokens } = await sources();
    expect(parseMixShift("SHIB:0.8, SAND:0.5", tokens)).toEqual({
      tokens: [
        { symbol: "SHIB", share: 0.8 },
        { symbol: "SAND", share: 0.5 },
      ],
    });
    for (const bad of ["SHIB", "SHIB:0", "SHIB:1.5", "NOPE:0.5", "SHIB:x"])
      expect(() => parseMixShift(bad, tokens), bad).toThrow(/Invalid --shift-mix/);
  });

  it("adds the shifted tokens to about their share of normal transactions and leaves everything else of a transaction as it was", async () => {
    const s = await sources();
    const bySymbol = new Map(s.tokens.map((t) => [t.symbol, t]));
    const shift = parseMixShift("SHIB:0.8,SAND:0.3", s.tokens);
    const gen = createTrafficGenerator({ marginals: s.marginals, tokens: s.tokens, seed: 3 });
    const rng = createRandom(4);
    const n = 4000;
    let shib = 0;
    let sand = 0;
    let shibBefore = 0;
    for (let i = 0; i < n; i++) {
      const plan = gen.next();
      const had = (p: typeof plan, sym: string) => p.transfers.some((t) => t.token.symbol === sym);
      if (had(plan, "SHIB")) shibBefore++;
      const out = applyMixShift(plan, shift, rng, bySymbol);
      // the original transfers are kept in order, at most one per shifted token is added
      expect(out.transfers.slice(0, plan.transfers.length)).toEqual(plan.transfers);
      expect(out.transfers.length - plan.transfers.length).toBeLessThanOrEqual(2);
      expect(out.ageMinutes).toBe(plan.ageMinutes);
      for (const t of out.transfers.slice(plan.transfers.length)) {
        expect(["SHIB", "SAND"]).toContain(t.token.symbol);
        expect(t.amount).toBeGreaterThanOrEqual(10);
        expect(t.amount).toBeLessThanOrEqual(100_000);
      }
      if (had(out, "SHIB")) shib++;
      if (had(out, "SAND")) sand++;
    }
    // SHIB is in ~2 % of training transactions; with the shift in ~80 % (binomial 4σ ≈ 2.5 %)
    expect(shibBefore / n).toBeLessThan(0.05);
    expect(Math.abs(shib / n - (shibBefore / n + (1 - shibBefore / n) * 0.8))).toBeLessThan(0.03);
    expect(Math.abs(sand / n - 0.3)).toBeLessThan(0.04);
  });
});
