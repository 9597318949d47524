import { verdictSchema, type Verdict } from "../../contracts/verdict.js";
import type { Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";
import { readTopicRange } from "../stats/read-range.js";

/**
 * The latest verdict per transaction in the compacted verdicts topic, read from its beginning
 * to now, by lower-case transaction hash (a findings topic holds one chain; the record key is
 * `<chainId>:<txHash>`); a tombstone withdraws the verdict it names. An absent topic means no
 * verdicts.
 */
export async function readVerdicts(
  kafka: Kafka,
  opts: { topic: string; nowMs: number; logger: Logger; idleTimeoutMs?: number },
): Promise<Map<string, Verdict["verdict"]>> {
  const verdicts = new Map<string, Verdict["verdict"]>();
  const admin = kafka.admin();
  await admin.connect();
  const exists = (await admin.listTopics()).includes(opts.topic);
  await admin.disconnect();
  if (!exists) return verdicts;
  await readTopicRange(kafka, {
    topic: opts.topic,
    fromMs: 0,
    toMs: opts.nowMs + 1,
    logger: opts.logger,
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    onMessage: (m) => {
      if (m.key === null) return;
      if (m.value === null) {
        verdicts.delete(m.key.slice(m.key.indexOf(":") + 1).toLowerCase());
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(m.value.toString("utf8"));
      } catch {
        return; // not a verdict: other readers see the same record; a retrain skips it
      }
      const parsed = verdictSchema.safeParse(value);
      if (parsed.success) verdicts.set(parsed.data.txHash.toLowerCase(), parsed.data.verdict);
    },
  });
  return verdicts;
}
