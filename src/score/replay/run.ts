import { loadConfig } from "../../kernel/config/index.js";
import { createKafka } from "../../kernel/kafka/index.js";
import { createLogger } from "../../kernel/logger.js";
import { parseOffsets, parseTimestamp, resetGroupOffsets, type ReplayTarget } from "./replay.js";

/** `att replay`'s flags, as commander parses them. */
export interface ReplayFlags {
  group: string;
  topic?: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toTimestamp?: string;
  toOffset?: string;
  dryRun?: boolean;
}

export async function runReplay(flags: ReplayFlags): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.common.logLevel === "info" ? "warn" : config.common.logLevel });
  const target: ReplayTarget = flags.toEarliest
    ? { kind: "earliest" }
    : flags.toLatest
      ? { kind: "latest" }
      : flags.toTimestamp !== undefined
        ? { kind: "timestamp", ms: parseTimestamp(flags.toTimestamp) }
        : { kind: "offsets", offsets: parseOffsets(flags.toOffset ?? "") };
  const topic = flags.topic ?? config.kafka.topicTransfers;
  const kafka = createKafka(config.kafka, { logger, stage: "replay" });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const moves = await resetGroupOffsets(kafka, admin, {
      groupId: flags.group,
      topic,
      target,
      dryRun: flags.dryRun ?? false,
    });
    const rows = [
      ["partition", "committed", "new offset"],
      ...moves.map((m) => [String(m.partition), m.from === "-1" ? "(none)" : m.from, m.to]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`${flags.dryRun ? "Would move" : "Moved"} group ${flags.group} on ${topic}:\n`);
    for (const r of rows) process.stdout.write(r.map((c, i) => c.padStart(widths[i]!)).join("  ") + "\n");
  } finally {
    await admin.disconnect();
  }
}
