import { readFileSync } from "node:fs";
import { verdictSchema, type Verdict } from "../../contracts/verdict.js";
import { ConfigError } from "../../kernel/errors.js";
import type { Kafka } from "../../kernel/kafka/index.js";
import type { Logger } from "../../kernel/logger.js";
import { EXPLOIT_TEMPLATES } from "../simulate/exploits.js";
import { safeJson } from "./allowlist.js";
import { labelKey } from "./args.js";
import { readLabelTopic } from "./topics.js";

/** Where a transaction's label comes from; a verdict overrides the others. */
export type LabelSource = "verdict" | "injected" | "known-exploit";

export interface TxLabel {
  positive: boolean;
  source: LabelSource;
  verdict?: Verdict["verdict"];
}

/** An exploit the simulator injected (one line of ATT_SIMULATE_EXPLOITS_LOG). */
export interface InjectedExploit {
  hash: string;
  /** Wall clock (ms) when the node accepted it. */
  sentAt: number;
}

export interface LabelSet {
  /** The label of a transaction, if it has one. */
  get(chainId: number, txHash: string): TxLabel | undefined;
  verdicts: number;
  injected: InjectedExploit[];
}

/** The chain of the ATT bot's training notebook's known exploit rows (mainnet). */
const KNOWN_EXPLOITS_CHAIN = 1;
const KNOWN_EXPLOITS = new Set(EXPLOIT_TEMPLATES.map((t) => labelKey(KNOWN_EXPLOITS_CHAIN, t.txHash)));

/**
 * Labels for precision and recall: the analysts' verdicts (the compacted verdicts topic, latest
 * per transaction), the simulator's injected exploits (its JSONL log; a simulated chain's hashes
 * are unique, so they match on any chain id) and the known exploit transactions of the ATT bot's
 * training notebook (mainnet). A true-positive verdict and an exploit are positives; a
 * false-positive or benign verdict is a negative, also for an injected exploit.
 */
export async function loadLabels(
  kafka: Kafka,
  opts: { verdictsTopic: string; exploitLogs: string[]; logger: Logger },
): Promise<LabelSet> {
  const verdicts = new Map<string, Verdict>();
  for (const [key, value] of await readLabelTopic(kafka, opts.verdictsTopic, { logger: opts.logger })) {
    const v = verdictSchema.safeParse(safeJson(value));
    if (v.success) verdicts.set(labelKey(v.data.chainId, v.data.txHash), v.data);
    else
      opts.logger.warn({
        msg: "Skipped a verdict record that is not a Verdict v1",
        key,
        topic: opts.verdictsTopic,
      });
  }
  const injected = opts.exploitLogs.flatMap(readExploitLog);
  const injectedHashes = new Set(injected.map((e) => e.hash));
  return {
    verdicts: verdicts.size,
    injected,
    get(chainId, txHash) {
      const key = labelKey(chainId, txHash);
      const v = verdicts.get(key);
      if (v) return { positive: v.verdict === "true-positive", source: "verdict", verdict: v.verdict };
      if (injectedHashes.has(txHash)) return { positive: true, source: "injected" };
      if (KNOWN_EXPLOITS.has(key)) return { positive: true, source: "known-exploit" };
      return undefined;
    },
  };
}

/** The simulator's exploit log (src/tools/simulate/recorder.ts): one JSON object per line. */
function readExploitLog(path: string): InjectedExploit[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`Cannot read the exploit log ${path}`, {
      cause: err,
      details: [
        "Expected: the JSONL file att simulate --exploits-log (ATT_SIMULATE_EXPLOITS_LOG) writes",
        "Fix: pass the right file with --exploits-log, or unset ATT_SIMULATE_EXPLOITS_LOG.",
      ],
    });
  }
  const out: InjectedExploit[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const o = safeJson(line) as { hash?: unknown; sentAt?: unknown } | undefined;
    if (typeof o?.hash === "string" && typeof o.sentAt === "number")
      out.push({ hash: o.hash.toLowerCase(), sentAt: o.sentAt });
  }
  return out;
}
