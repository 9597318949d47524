import { verdictSchema, type Verdict } from "../../contracts/verdict.js";
import type { Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";
import { safeJson } from "../labels/allowlist.js";
import { readLabelTopic } from "../labels/topics.js";

/**
 * The latest verdict per transaction in the compacted verdicts topic (read to its end by the
 * labels reader: tombstones withdraw, a stalled read fails instead of giving part of the list),
 * by lower-case transaction hash (a findings topic holds one chain). A record that is not a
 * Verdict v1 is skipped; an absent topic means no verdicts.
 */
export async function readVerdicts(
  kafka: Kafka,
  opts: { topic: string; logger: Logger; idleTimeoutMs?: number },
): Promise<Map<string, Verdict["verdict"]>> {
  const verdicts = new Map<string, Verdict["verdict"]>();
  const live = await readLabelTopic(kafka, opts.topic, {
    logger: opts.logger,
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  });
  for (const value of live.values()) {
    const parsed = verdictSchema.safeParse(safeJson(value));
    if (parsed.success) verdicts.set(parsed.data.txHash.toLowerCase(), parsed.data.verdict);
  }
  return verdicts;
}
