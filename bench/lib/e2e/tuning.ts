import type { Admin } from "kafkajs";
import { uniqueName } from "../../../test/helpers/names.js";
import type { Progress } from "../progress.js";
import type { RssSampler } from "../rss.js";
import { runScorers, type ScorerRunResult } from "./throughput.js";
import type { ScorerOptions, ScorerTarget } from "./scorers.js";

export interface TuningVariant {
  label: string;
  env: Record<string, string>;
}

/**
 * Settings tried one at a time against the configured ones (each a fresh group over the same
 * topic, one process): what each knob buys on this machine. "as configured" runs first and last.
 */
export const TUNING_VARIANTS: TuningVariant[] = [
  { label: "as configured", env: {} },
  { label: "ATT_FINDINGS_NORMAL=off (only ANOMALOUS/INVALID written)", env: { ATT_FINDINGS_NORMAL: "off" } },
  { label: "ATT_SCORE_BATCH_MAX=250", env: { ATT_SCORE_BATCH_MAX: "250" } },
  {
    label: "ATT_SCORE_BATCH_MAX=4000, ATT_SCORE_MAX_BYTES_PER_PARTITION=4 MiB",
    env: {
      ATT_SCORE_BATCH_MAX: "4000",
      ATT_SCORE_MAX_BYTES_PER_PARTITION: String(4 << 20),
      ATT_SCORE_MAX_BYTES: String(32 << 20),
    },
  },
  { label: "ATT_SCORE_PARTITIONS_CONCURRENTLY=1", env: { ATT_SCORE_PARTITIONS_CONCURRENTLY: "1" } },
  { label: "ATT_SCORE_PARTITIONS_CONCURRENTLY=6", env: { ATT_SCORE_PARTITIONS_CONCURRENTLY: "6" } },
  // Again at the end: the baseline is the mean of both, so that drift during the series
  // (load from elsewhere, a warming broker) does not favour the variants run late.
  { label: "as configured", env: {} },
];

export async function runTuning(
  admin: Admin,
  target: (group: string) => ScorerTarget,
  total: bigint,
  o: { scorer: ScorerOptions; variants: TuningVariant[]; progress: Progress; rss: RssSampler },
): Promise<{ variant: TuningVariant; run: ScorerRunResult }[]> {
  const out: { variant: TuningVariant; run: ScorerRunResult }[] = [];
  for (const [i, variant] of o.variants.entries()) {
    o.progress.update(`variant ${i + 1}/${o.variants.length}: ${variant.label}`);
    const run = await runScorers(admin, target(uniqueName("bench-e2e-tune")), total, {
      ...o.scorer,
      env: { ...o.scorer.env, ...variant.env },
      processes: 1,
      progress: o.progress,
      rss: o.rss,
      label: `e2e-score-tune-${i + 1}`,
    });
    o.progress.note(`  ${variant.label}: ${Math.round(run.txPerS)} tx/s`);
    out.push({ variant, run });
  }
  return out;
}
