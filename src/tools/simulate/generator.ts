import { createBinSampler, type BinSampler } from "./bin-sampler.js";
import type { Marginals } from "./marginals.js";
import { createRandom, ndtr, type Random } from "./random.js";
import type { TokenSpec } from "./tokens.js";

/**
 * The shape of one normal transaction, drawn so that its ATT features follow the real
 * training set's marginals. Built as a transaction (not as independent feature values) so
 * the features stay consistent with each other; the construction is the one of
 * model-tools/att_model/synthetic.py (the default model's training rows):
 *   1. T = tokens_type_counts from its marginal;
 *   2. K ~ Binomial(T, q) of the T token types are tracked tokens, chosen by a weighted draw
 *      without replacement whose weights are calibrated so each token's presence rate
 *      matches its marginal; the other T - K are untracked tokens;
 *   3. a tracked token gets a transfer count and a total value from its marginals given it is
 *      present, tied by a Gaussian copula (more transfers go with larger amounts);
 *   4. untracked tokens get a count from UNTRACKED_COUNT and a value from the
 *      max_single_token_transfers_value marginal;
 *   5. the sender's age (account_active_period_in_minutes) from its marginal.
 */
export interface PlannedTransfer {
  token: TokenSpec;
  /** In token units (value / 10^decimals), rounded to 3 decimals as the ATT bot rounds. */
  amount: number;
}

export type TxKind = "single" | "swap" | "batch" | "exploit";

export interface TxPlan {
  kind: TxKind;
  /** Minutes between the sender's first transaction and this one; 0 = this is its first. */
  ageMinutes: number;
  transfers: PlannedTransfer[];
  /** Exploit template name, for exploits. */
  template?: string;
}

export const COPULA_RHO = 0.6;
/** Transfers per untracked token: [lo, hi, probability], uniform within a range (synthetic.py). */
export const UNTRACKED_COUNT: readonly [number, number, number][] = [
  [1, 1, 0.9],
  [2, 2, 0.07],
  [3, 6, 0.025],
  [7, 40, 0.0045],
  [41, 200, 0.0005],
];

export interface TrafficGenerator {
  next(): TxPlan;
  readonly tracked: readonly TokenSpec[];
  readonly untracked: readonly TokenSpec[];
}

const calibrated = new WeakMap<Marginals, Map<string, number[]>>();

function kindOf(transfers: number): TxKind {
  return transfers <= 1 ? "single" : transfers <= 3 ? "swap" : "batch";
}

/** Splits `total` into `n` positive parts (flat Dirichlet), each rounded to 3 decimals. */
export function splitAmount(rng: Random, total: number, n: number): number[] {
  if (n === 1) return [round3(total)];
  const w = Array.from({ length: n }, () => rng.exponential());
  const sum = w.reduce((s, x) => s + x, 0);
  return w.map((x) => round3((total * x) / sum));
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function createTrafficGenerator(opts: {
  marginals: Marginals;
  tokens: readonly TokenSpec[];
  seed: number;
}): TrafficGenerator {
  const f = opts.marginals.features;
  const need = (name: string) => {
    const m = f[name];
    if (!m) throw new RangeError(`marginals lack the feature ${name}`);
    return m;
  };
  const tracked = opts.tokens.filter(
    (t) => t.tracked && f[`${t.symbol}_transfers`] && f[`${t.symbol}_value`],
  );
  const untracked = opts.tokens.filter((t) => !t.tracked);
  const typeCounts = need("tokens_type_counts");
  const ageM = account(f);
  const maxValue = need("max_single_token_transfers_value");

  const pPresent = tracked.map((t) => 1 - f[`${t.symbol}_transfers`]!.freq[0]!);
  const typesSampler = createBinSampler(typeCounts, typeCounts.freq, { integer: true });
  const ageSampler = createBinSampler(ageM, ageM.freq, { integer: false });
  const untrackedValue = createBinSampler(maxValue, maxValue.freq, { integer: false });
  const count: BinSampler[] = [];
  const value: BinSampler[] = [];
  for (const t of tracked) {
    const ft = f[`${t.symbol}_transfers`]!;
    const fv = f[`${t.symbol}_value`]!;
    count.push(createBinSampler(ft, [0, ...ft.freq.slice(1)], { integer: true }));
    const small = Math.max(0, fv.freq[0]! - ft.freq[0]!); // present, but value in the lowest bin
    value.push(createBinSampler(fv, [small, ...fv.freq.slice(1)], { integer: false, firstBinUniform: true }));
  }
  const meanTypes = typeCounts.freq.reduce((s, p, i) => s + p * typeCounts.mean[i]!, 0);
  const q = Math.min(1, pPresent.reduce((s, p) => s + p, 0) / meanTypes);
  const maxTypes = Math.max(...typeCounts.hi);
  if (tracked.length + untracked.length < Math.min(maxTypes, 13)) {
    throw new RangeError(
      `need at least ${Math.min(maxTypes, 13)} token types, got ${tracked.length + untracked.length}`,
    );
  }

  const keys = new Float64Array(tracked.length);
  const pickTracked = (rng: Random, k: number, weights: readonly number[]): number[] => {
    // weighted sampling without replacement via exponential keys (Efraimidis-Spirakis):
    // the k smallest of exponential/weight
    if (k === 0) return [];
    for (let j = 0; j < keys.length; j++) keys[j] = rng.exponential() / weights[j]!;
    const out: number[] = [];
    for (let n = 0; n < k; n++) {
      let best = -1;
      for (let j = 0; j < keys.length; j++) if (best < 0 || keys[j]! < keys[best]!) best = j;
      out.push(best);
      keys[best] = Infinity;
    }
    return out;
  };
  const binomial = (rng: Random, n: number, p: number) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.next() < p) k++;
    return k;
  };

  // Draw weights calibrated so that each tracked token's presence rate matches its marginal
  // (computed once per marginals and token list).
  const cacheKey = tracked.map((t) => t.symbol).join(",");
  let perMarginals = calibrated.get(opts.marginals);
  if (!perMarginals) calibrated.set(opts.marginals, (perMarginals = new Map()));
  let weights = perMarginals.get(cacheKey);
  if (!weights) {
    let w = pPresent.map((p) => Math.max(p, 1e-9));
    const n = 100_000;
    const calib = createRandom(12345);
    const types = Array.from({ length: n }, () => typesSampler.sample(calib.open()));
    for (let it = 0; it < 8; it++) {
      const rng = createRandom(54321);
      const seen = new Array<number>(tracked.length).fill(0);
      for (const t of types) {
        for (const j of pickTracked(rng, Math.min(binomial(rng, t, q), tracked.length), w)) seen[j]! += 1;
      }
      w = w.map((x, j) => (x * pPresent[j]!) / Math.max(seen[j]! / n, 1e-9));
    }
    weights = w;
    perMarginals.set(cacheKey, weights);
  }
  const drawWeights = weights;

  const untrackedCount = (rng: Random) => {
    let u = rng.next();
    for (const [lo, hi, p] of UNTRACKED_COUNT) {
      if (u < p) return rng.int(lo, hi);
      u -= p;
    }
    return 1;
  };

  const rng = createRandom(opts.seed);
  return {
    tracked,
    untracked,
    next(): TxPlan {
      const types = Math.min(typesSampler.sample(rng.open()), tracked.length + untracked.length);
      const k = Math.min(binomial(rng, types, q), tracked.length);
      const transfers: PlannedTransfer[] = [];
      for (const j of pickTracked(rng, k, drawWeights)) {
        const z1 = rng.normal();
        const z2 = COPULA_RHO * z1 + Math.sqrt(1 - COPULA_RHO ** 2) * rng.normal();
        const c = Math.max(1, count[j]!.sample(ndtr(z1)));
        const v = value[j]!.sample(ndtr(z2));
        for (const amount of splitAmount(rng, v, c)) transfers.push({ token: tracked[j]!, amount });
      }
      const others = [...untracked];
      for (let i = 0; i < types - k; i++) {
        const token = others.splice(rng.int(0, others.length - 1), 1)[0]!;
        const c = untrackedCount(rng);
        const v = untrackedValue.sample(rng.open());
        for (const amount of splitAmount(rng, v, c)) transfers.push({ token, amount });
      }
      shuffle(rng, transfers);
      return { kind: kindOf(transfers.length), ageMinutes: ageSampler.sample(rng.open()), transfers };
    },
  };
}

function account(f: Marginals["features"]) {
  // The reference file calls it account_age_in_minutes; the bot's feature is account_active_period_in_minutes.
  const m = f["account_active_period_in_minutes"] ?? f["account_age_in_minutes"];
  if (!m) throw new RangeError("marginals lack account_active_period_in_minutes (or account_age_in_minutes)");
  return m;
}

function shuffle<T>(rng: Random, a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
