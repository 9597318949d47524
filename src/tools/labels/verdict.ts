import { VERDICTS, verdictSchema, type Verdict } from "../../contracts/verdict.js";
import { loadConfig, type Config } from "../../kernel/config/index.js";
import { createKafka, type Kafka } from "../../kernel/kafka/index.js";
import { createLogger } from "../../kernel/logger.js";
import { actor, argumentError, labelKey, parseChainId, parseTxHash } from "./args.js";
import { ensureLabelTopic, writeLabelRecords } from "./topics.js";

export interface VerdictFlags {
  note?: string;
  chainId?: string;
  by?: string;
  withdraw?: boolean;
}

export interface LabelsIo {
  env?: Record<string, string | undefined>;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  now?: () => Date;
}

/** Checks the arguments of `att verdict` and makes the record (nothing is written). */
export function makeVerdict(
  txHashRaw: string,
  verdictRaw: string | undefined,
  flags: VerdictFlags,
  ctx: { chainId: number; at: Date },
): Verdict {
  const txHash = parseTxHash(txHashRaw);
  if (verdictRaw === undefined || !(VERDICTS as readonly string[]).includes(verdictRaw))
    throw argumentError(
      "verdict",
      verdictRaw === undefined ? "none" : JSON.stringify(verdictRaw),
      VERDICTS.join(", "),
      `att verdict ${txHash} false-positive --note "…"`,
    );
  const v = {
    v: 1 as const,
    chainId: parseChainId(flags.chainId, ctx.chainId),
    txHash,
    verdict: verdictRaw as Verdict["verdict"],
    ...(flags.note !== undefined ? { note: flags.note } : {}),
    analyst: actor(flags.by),
    at: ctx.at.toISOString(),
  };
  const checked = verdictSchema.safeParse(v);
  if (!checked.success)
    throw argumentError(
      "verdict",
      checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      "a Verdict v1 (docs/contracts.md)",
      "shorten --note to at most 2000 characters.",
    );
  return checked.data;
}

/**
 * `att verdict <tx-hash> true-positive|false-positive|benign`: one record on the compacted
 * verdicts topic (ATT_VERDICTS_TOPIC), keyed `<chainId>:<txHash>`; a later verdict for the same
 * transaction replaces it.
 */
export async function runVerdict(
  txHashRaw: string,
  verdictRaw: string | undefined,
  flags: VerdictFlags,
  io: LabelsIo = {},
): Promise<Verdict> {
  const config = loadConfig(io.env ?? process.env);
  const verdict = makeVerdict(txHashRaw, verdictRaw, flags, {
    chainId: config.chain.chainId,
    at: io.now?.() ?? new Date(),
  });
  const { kafka, topic } = await openVerdicts(config, io);
  const key = labelKey(verdict.chainId, verdict.txHash);
  await writeLabelRecords(kafka, topic, [{ key, value: JSON.stringify(verdict) }], { tool: "verdict" });
  (io.stdout ?? process.stdout).write(`${verdict.verdict} recorded for ${key} on ${topic}\n`);
  return verdict;
}

async function openVerdicts(config: Config, io: LabelsIo): Promise<{ kafka: Kafka; topic: string }> {
  const logger = createLogger({
    level: config.common.logLevel === "info" ? "warn" : config.common.logLevel,
    destination: io.stderr ?? process.stderr,
    name: "att-verdict",
  });
  const kafka = createKafka(config.kafka, { logger, stage: "verdict" });
  const topic = config.labels.verdictsTopic;
  await ensureLabelTopic(kafka, topic, config.kafka);
  return { kafka, topic };
}

/**
 * `att verdict <tx-hash> --withdraw`: a tombstone for the transaction's key, so that readers
 * (and compaction) drop its verdict: it counts as unlabelled again.
 */
export async function runWithdrawVerdict(
  txHashRaw: string,
  verdictRaw: string | undefined,
  flags: VerdictFlags,
  io: LabelsIo = {},
): Promise<void> {
  const config = loadConfig(io.env ?? process.env);
  const txHash = parseTxHash(txHashRaw);
  if (verdictRaw !== undefined)
    throw argumentError(
      "arguments",
      `--withdraw with the verdict ${JSON.stringify(verdictRaw)}`,
      "either a verdict or --withdraw",
      `att verdict ${txHash} --withdraw`,
    );
  const key = labelKey(parseChainId(flags.chainId, config.chain.chainId), txHash);
  const { kafka, topic } = await openVerdicts(config, io);
  await writeLabelRecords(kafka, topic, [{ key, value: null }], { tool: "verdict" });
  (io.stdout ?? process.stdout).write(`verdict withdrawn for ${key} on ${topic}\n`);
}
