import { z } from "zod";
import { hash32 } from "./token-transfer-tx.js";

/**
 * Verdict v1 — an analyst's judgement of one scored transaction, the value of the compacted
 * verdicts topic (`att.verdicts.v1`). Defined before the tools so that the writer (`att verdict`),
 * its readers (precision and recall in `att stats` and `att model compare`, retraining that
 * excludes true positives) and any other subscriber share one shape.
 *
 * Kafka key: `<chainId>:<txHash>` (e.g. `1:0xab…`), so compaction keeps the latest verdict per
 * transaction; a later verdict replaces an earlier one, a tombstone (null value) withdraws it.
 * docs/contracts.md "Verdict v1".
 */

export const VERDICTS = ["true-positive", "false-positive", "benign"] as const;

/** Longest note kept: a sentence or a link to a ticket, not a report. */
const MAX_NOTE_CHARS = 2000;

export const verdictSchema = z.object({
  v: z.literal(1, "expected schema version v = 1"),
  chainId: z.number().int().positive("expected a positive chain id"),
  txHash: hash32.meta({ description: "The judged transaction: lower-case 0x hex." }),
  verdict: z.enum(VERDICTS).meta({
    description:
      "true-positive: an attack or exploit, rightly flagged; false-positive: flagged, but not an attack; " +
      "benign: known harmless traffic (a label for transactions that were not flagged, or for training).",
  }),
  note: z.string().max(MAX_NOTE_CHARS).optional().meta({ description: "Free text; absent when none." }),
  analyst: z.string().min(1).max(200).meta({ description: "Who gave the verdict (user name or e-mail)." }),
  at: z.iso.datetime().meta({ description: "When the verdict was given: ISO 8601, UTC." }),
});

export type Verdict = z.infer<typeof verdictSchema>;
