import { createBinSampler } from "./bin-sampler.js";
import type { FeatureMarginal } from "./marginals.js";
import type { Random } from "./random.js";

/** A sender the simulator controls (anvil impersonates it: no keys, no signing). */
export interface SimAccount {
  address: string;
  /** Unix seconds of its first transaction (back-dated on the chain); undefined = none yet. */
  firstTxAt?: number;
  /** Age it was planned with, in minutes (0 for a fresh account). */
  plannedAgeMinutes: number;
  /** Next nonce to use. */
  nonce: number;
}

/** Ages below this (minutes) mean "this transaction is the sender's first" (the marginal's lowest bin). */
export const FRESH_AGE_MINUTES = 0.07;

export function randomAddress(rng: Random): string {
  return `0x${Buffer.from(rng.bytes(20)).toString("hex")}`;
}

/**
 * Ages for a pool of `n` established accounts: stratified quantiles of the age marginal
 * restricted to its bins above the "fresh" one, so a small pool still covers the
 * distribution evenly (every age band, including the rare young accounts).
 */
export function poolAges(age: FeatureMarginal, n: number, maxMinutes: number): number[] {
  const weights = age.freq.map((f, i) => (age.hi[i]! <= FRESH_AGE_MINUTES ? 0 : f));
  const sampler = createBinSampler(age, weights, { integer: false });
  return Array.from({ length: n }, (_, i) => Math.min(sampler.sample((i + 0.5) / n), maxMinutes));
}

/**
 * Picks, for a planned age, an established account of about that age: the nearest one in
 * log-age (ties broken at random), so the ages the pipeline sees follow the marginal rather
 * than the pool's own sampling noise.
 */
export function createAgeIndex(
  accounts: readonly SimAccount[],
): (ageMinutes: number, rng: Random) => SimAccount {
  const sorted = [...accounts].sort((a, b) => a.plannedAgeMinutes - b.plannedAgeMinutes);
  const logs = sorted.map((a) => Math.log(Math.max(a.plannedAgeMinutes, 1e-6)));
  return (ageMinutes, rng) => {
    if (sorted.length === 0) throw new RangeError("no established accounts");
    const x = Math.log(Math.max(ageMinutes, 1e-6));
    let lo = 0;
    let hi = logs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (logs[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    const candidates = [lo - 1, lo].filter((i) => i >= 0 && i < sorted.length);
    const best = Math.min(...candidates.map((i) => Math.abs(logs[i]! - x)));
    const near = candidates.filter((i) => Math.abs(logs[i]! - x) <= best + 1e-12);
    return sorted[rng.pick(near)]!;
  };
}
