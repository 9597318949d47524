import { serializeFinding, type Finding } from "../contracts/finding.js";
import { fitsBudget } from "./limits.js";

/** Metadata values longer than this are cut when a finding does not fit its topic. */
export const SHRUNK_VALUE_CHARS = 256;

/**
 * A finding whose JSON does not fit its topic's record limit (a transaction with tens of
 * thousands of transfers over many tokens makes `token_types` and an INVALID reason long) is
 * shrunk by one rule: every metadata value longer than SHRUNK_VALUE_CHARS characters is cut to
 * that many, ending in "…", and `metadata.truncated_fields` lists the names cut (JSON array).
 * Everything a subscriber keys on (alertId, uniqueKey, severity, score, model_version, source)
 * is untouched. Returns the serialized finding, or undefined if even the shrunk one does not
 * fit: the caller dead-letters the transaction with ATT_FINDING_TOO_LARGE.
 */
export function shrinkToFit(f: Finding, budget: number): { finding: Finding; value: string } | undefined {
  const metadata: Record<string, string> = {};
  const cut: string[] = [];
  for (const k in f.metadata) {
    const v = f.metadata[k]!;
    if (v.length > SHRUNK_VALUE_CHARS) {
      metadata[k] = `${v.slice(0, SHRUNK_VALUE_CHARS - 1)}…`;
      cut.push(k);
    } else metadata[k] = v;
  }
  if (cut.length === 0) return undefined;
  metadata.truncated_fields = JSON.stringify(cut);
  const finding = { ...f, metadata };
  const value = serializeFinding(finding);
  return fitsBudget(value, budget) ? { finding, value } : undefined;
}
