import { describe, expect, it } from "vitest";
import { findingSchema, parseFinding, serializeFinding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { buildScoredFinding, type ScoredTx } from "../src/sink/findings.js";
import { routeFinding } from "../src/sink/router.js";
import { plainFinding, serializeScoredFinding, SerializedFinding } from "../src/sink/serialize.js";
import { shrinkToFit } from "../src/sink/shrink.js";
import { rng } from "./helpers/rng.js";

/**
 * The lean serializer (src/sink/serialize.ts) against its oracle, the object-building reference
 * `buildScoredFinding` + JSON.stringify: byte for byte over generated findings. A field added to
 * or changed in one of them and not the other fails here.
 */

const ODD_STRINGS = [
  "",
  "USDC",
  'quote " inside',
  "back\\slash",
  "new\nline\ttab\r",
  "\u0000\u0001\u001f control",
  "é ü ñ 中文 日本語",
  "emoji 🚀🦄",
  "lone \ud800 surrogate",
  "lone \udfff low",
  "\u2028\u2029 separators",
  "</script>",
  "a".repeat(300),
];

const ODD_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1 / 3,
  -2.5e-7,
  123456789.12345679,
  1e21,
  -1e300,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  NaN,
  Infinity,
  -Infinity,
  0.0000005,
  0.0000015,
  999999999.9999999,
];

const BASE_FEATURES = [
  "USDC_transfers",
  "USDC_value",
  "WETH_transfers",
  "transfer_counts",
  "account_active_period_in_minutes",
  "token_transfers_count",
];
const ODD_FEATURE_NAMES = [
  'name "quoted"',
  "back\\slash",
  "ünïcödé",
  "🚀",
  "line\nbreak",
  "lone \ud800",
  "from", // repeats a metadata key
  "model_version", // repeats a metadata key
  "__proto__",
  "123", // an array index: JSON.stringify orders it first
  "0",
  "01", // not an array index
  "-1",
  "constructor",
  "toString",
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomNumber(r: () => number): number {
  const k = r();
  if (k < 0.25) return pick(r, ODD_NUMBERS);
  if (k < 0.5) return Math.floor(r() * 1000);
  if (k < 0.75) return (r() - 0.5) * 10 ** Math.floor(r() * 12);
  return r();
}

function randomString(r: () => number): string {
  return r() < 0.5 ? pick(r, ODD_STRINGS) : `s${Math.floor(r() * 1e6).toString(36)}`;
}

function randomTx(r: () => number): TokenTransferTx {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  const odd = r() < 0.1;
  return {
    v: 1,
    chainId: r() < 0.8 ? 1 : Math.floor(r() * 100_000),
    blockNumber: Math.floor(r() * 30_000_000),
    blockHash: `0x${hex(64)}`,
    blockTimestamp: Math.floor(r() * 2_000_000_000),
    txHash: odd ? `0x${hex(10)}"${pick(r, ODD_STRINGS)}` : `0x${hex(64)}`,
    txIndex: 0,
    from: odd ? pick(r, ODD_STRINGS) : `0x${hex(40)}`,
    to: `0x${hex(40)}`,
    transfers: [],
    observedAt: 0,
  };
}

function randomScored(r: () => number, featureNames: string[]): ScoredTx {
  const features: Record<string, number> = {};
  for (const n of featureNames) features[n] = randomNumber(r);
  const names = Object.keys(features);
  return {
    tx: randomTx(r),
    features,
    maxSingleTokenName: randomString(r),
    tokenTypes: Array.from({ length: Math.floor(r() * 4) }, () => randomString(r)),
    score: r() < 0.05 ? pick(r, ODD_NUMBERS) : r(),
    anomalous: r() < 0.5,
    explanations: Array.from({ length: Math.floor(r() * 4) }, () => ({
      feature: names.length ? pick(r, names) : "none",
      value: randomNumber(r),
      contribution: (r() - 0.5) * 2,
    })),
    featureTimeSec: r() * 0.01,
    modelTimeSec: r() < 0.1 ? 0 : r() * 0.001,
  };
}

function featureList(r: () => number, i: number): string[] {
  // Mostly one list for many findings in a row (the serializer caches the last one), sometimes odd names.
  if (i % 50 < 40) return BASE_FEATURES;
  const names = BASE_FEATURES.filter(() => r() < 0.7);
  if (r() < 0.6) names.splice(Math.floor(r() * (names.length + 1)), 0, pick(r, ODD_FEATURE_NAMES));
  if (r() < 0.2) names.push(pick(r, ODD_FEATURE_NAMES));
  return names;
}

const MODELS = [
  { version: "1671000000", threshold: 0.5 },
  { version: 'v2-"quoted"-é', threshold: 0.4321987654 },
  { version: "", threshold: NaN },
  { version: "1700000000", threshold: 1 },
];

describe("the lean finding serializer", () => {
  it("writes exactly JSON.stringify of the reference finding, over 5,000 generated findings", () => {
    const r = rng(18);
    let fallbacks = 0;
    for (let i = 0; i < 5000; i++) {
      const s = randomScored(r, featureList(r, i));
      const model = MODELS[Math.floor(i / 1250)]!;
      const reference = buildScoredFinding(s, model);
      const lean = serializeScoredFinding(s, model);
      expect(lean.value).toBe(JSON.stringify(reference));
      expect(lean.alertId).toBe(reference.alertId);
      expect(lean.uniqueKey).toBe(reference.uniqueKey);
      if (Object.keys(s.features).some((k) => /^(\d+|__proto__|from|model_version)$/.test(k))) fallbacks++;
    }
    // The generator did reach the names the reference has to serialize itself.
    expect(fallbacks).toBeGreaterThan(50);
  });

  it("gives both verdicts their fields: ANOMALOUS with the attacker label, NORMAL without", () => {
    const r = rng(7);
    for (const anomalous of [true, false]) {
      const s = { ...randomScored(r, BASE_FEATURES), anomalous, score: 0.7 };
      s.tx = { ...s.tx, from: `0x${"cc".repeat(20)}`, txHash: `0x${"bb".repeat(32)}` };
      const lean = serializeScoredFinding(s, MODELS[0]!);
      const f = parseFinding(lean.value);
      expect(f.labels.length).toBe(anomalous ? 1 : 0);
      expect(f.metadata.prediction).toBe(anomalous ? "ANOMALY" : "NORMAL");
      expect(findingSchema.safeParse(JSON.parse(lean.value)).success).toBe(true);
    }
  });

  it("reads like the reference Finding: fields, JSON.stringify, routing", () => {
    const r = rng(3);
    const s = randomScored(r, BASE_FEATURES);
    const model = MODELS[0]!;
    const reference = buildScoredFinding(s, model);
    const lean = serializeScoredFinding(s, model);
    expect(lean).toBeInstanceOf(SerializedFinding);
    for (const k of Object.keys(reference) as (keyof typeof reference)[])
      expect(lean[k]).toEqual(reference[k]);
    expect(JSON.stringify(lean)).toBe(serializeFinding(reference));
    expect(JSON.stringify(lean, null, 2)).toBe(JSON.stringify(reference, null, 2));
    const routing = { findingsTopic: "f", normalFindings: "main" as const, alertsTopic: "a" };
    expect(routeFinding(lean, routing, lean.value)).toEqual(
      routeFinding(reference, routing, serializeFinding(reference)),
    );
  });

  it("shrinks a finding too large for its topic exactly as the reference is shrunk", () => {
    const r = rng(5);
    const s = {
      ...randomScored(r, BASE_FEATURES),
      tokenTypes: Array.from({ length: 2000 }, (_, i) => `TOKEN_${i}_é"`),
    };
    const model = MODELS[0]!;
    const reference = buildScoredFinding(s, model);
    const lean = serializeScoredFinding(s, model);
    const budget = 4000;
    expect(lean.value.length).toBeGreaterThan(budget);
    const a = shrinkToFit(plainFinding(lean), budget);
    const b = shrinkToFit(reference, budget);
    expect(a).toBeDefined();
    expect(a!.value).toBe(b!.value);
    expect(JSON.parse(a!.value).metadata.truncated_fields).toBe('["token_types"]');
  });
});
