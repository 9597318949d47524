import { ALLOWLIST_KINDS, allowlistEntrySchema, type AllowlistEntry } from "../../contracts/allowlist.js";
import { loadConfig, type Config } from "../../kernel/config/index.js";
import { createKafka, type Kafka } from "../../kernel/kafka/index.js";
import { createLogger, type Logger } from "../../kernel/logger.js";
import { textTable } from "../../kernel/text-table.js";
import { actor, argumentError, labelKey, parseAddress, parseChainId } from "./args.js";
import { ensureLabelTopic, readLabelTopic, writeLabelRecords } from "./topics.js";
import type { LabelsIo } from "./verdict.js";

export interface AllowlistFlags {
  reason?: string;
  kind?: string;
  chainId?: string;
  by?: string;
  json?: boolean;
}

interface Session {
  config: Config;
  kafka: Kafka;
  logger: Logger;
  topic: string;
  stdout: NodeJS.WritableStream;
}

function open(io: LabelsIo): Session {
  const config = loadConfig(io.env ?? process.env);
  const logger = createLogger({
    level: config.common.logLevel === "info" ? "warn" : config.common.logLevel,
    destination: io.stderr ?? process.stderr,
    name: "att-allowlist",
  });
  return {
    config,
    logger,
    kafka: createKafka(config.kafka, { logger, stage: "allowlist" }),
    topic: config.labels.allowlistTopic,
    stdout: io.stdout ?? process.stdout,
  };
}

/** Checks the arguments of `att allowlist add` and makes the entry (nothing is written). */
export function makeAllowlistEntry(
  addressRaw: string,
  flags: AllowlistFlags,
  ctx: { chainId: number; at: Date },
): AllowlistEntry {
  const address = parseAddress(addressRaw);
  const kind = flags.kind ?? "sender";
  if (!(ALLOWLIST_KINDS as readonly string[]).includes(kind))
    throw argumentError(
      "--kind",
      JSON.stringify(kind),
      ALLOWLIST_KINDS.join(" or "),
      "--kind sender (transactions sent from the address) or --kind contract (transactions that call it).",
    );
  const reason = flags.reason?.trim() ?? "";
  if (reason === "" || reason.length > 2000)
    throw argumentError(
      "--reason",
      JSON.stringify(flags.reason ?? ""),
      "why the address is benign, 1 to 2000 characters",
      `att allowlist add ${address} --reason "MEV bot of <team>, triaged in <ticket>"`,
    );
  return allowlistEntrySchema.parse({
    v: 1,
    chainId: parseChainId(flags.chainId, ctx.chainId),
    address,
    kind,
    reason,
    addedBy: actor(flags.by),
    at: ctx.at.toISOString(),
  });
}

/**
 * `att allowlist add <address> --reason …`: one entry on the compacted allow-list topic
 * (ATT_ALLOWLIST_TOPIC), keyed `<chainId>:<address>`. Running score replicas follow the topic
 * and apply it to the next batch they score.
 */
export async function runAllowlistAdd(
  addressRaw: string,
  flags: AllowlistFlags,
  io: LabelsIo = {},
): Promise<AllowlistEntry> {
  const s = open(io);
  const entry = makeAllowlistEntry(addressRaw, flags, {
    chainId: s.config.chain.chainId,
    at: io.now?.() ?? new Date(),
  });
  await ensureLabelTopic(s.kafka, s.topic, s.config.kafka);
  const key = labelKey(entry.chainId, entry.address);
  await writeLabelRecords(s.kafka, s.topic, [{ key, value: JSON.stringify(entry) }], { tool: "allowlist" });
  s.stdout.write(`${key} allow-listed as ${entry.kind} on ${s.topic}\n`);
  return entry;
}

/** `att allowlist remove <address>`: a tombstone for its key (docs/contracts.md "Allow-list entry v1"). */
export async function runAllowlistRemove(
  addressRaw: string,
  flags: AllowlistFlags,
  io: LabelsIo = {},
): Promise<void> {
  const s = open(io);
  const key = labelKey(parseChainId(flags.chainId, s.config.chain.chainId), parseAddress(addressRaw));
  await ensureLabelTopic(s.kafka, s.topic, s.config.kafka);
  const listed = await readLabelTopic(s.kafka, s.topic, { logger: s.logger });
  if (!listed.has(key)) {
    throw argumentError(
      "address to remove",
      `${key}, which is not on the allow-list (${s.topic})`,
      "an allow-listed address",
      "att allowlist list shows the current entries.",
    );
  }
  await writeLabelRecords(s.kafka, s.topic, [{ key, value: null }], { tool: "allowlist" });
  s.stdout.write(`${key} removed from the allow-list on ${s.topic}\n`);
}

/** The current allow-list: every key's latest entry (tombstoned keys left out). */
export async function readAllowlist(kafka: Kafka, topic: string, logger: Logger): Promise<AllowlistEntry[]> {
  const out: AllowlistEntry[] = [];
  for (const [key, value] of await readLabelTopic(kafka, topic, { logger })) {
    const parsed = allowlistEntrySchema.safeParse(safeJson(value));
    if (parsed.success) out.push(parsed.data);
    else logger.warn({ msg: "Skipped an allow-list record that is not an Allow-list entry v1", key, topic });
  }
  return out.sort((a, b) => a.chainId - b.chainId || a.address.localeCompare(b.address));
}

/** `att allowlist list [--json]`. */
export async function runAllowlistList(flags: AllowlistFlags, io: LabelsIo = {}): Promise<AllowlistEntry[]> {
  const s = open(io);
  let entries = await readAllowlist(s.kafka, s.topic, s.logger);
  if (flags.chainId !== undefined) {
    const chainId = parseChainId(flags.chainId, s.config.chain.chainId);
    entries = entries.filter((e) => e.chainId === chainId);
  }
  if (flags.json) s.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
  else if (entries.length === 0) s.stdout.write(`The allow-list (${s.topic}) is empty.\n`);
  else
    s.stdout.write(
      `${textTable(
        ["chain", "address", "kind", "added by", "at", "reason"],
        entries.map((e) => [String(e.chainId), e.address, e.kind, e.addedBy, e.at, e.reason]),
        { align: ["r", "l", "l", "l", "l", "l"] },
      )}\n`,
    );
  return entries;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
