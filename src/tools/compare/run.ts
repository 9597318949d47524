import { writeFile } from "node:fs/promises";
import { loadConfig } from "../../kernel/config/index.js";
import { ConfigError } from "../../kernel/errors.js";
import { createKafka } from "../../kernel/kafka/index.js";
import { resolveTarget } from "../../model/cli/index.js";
import { loadModel, type Model } from "../../model/index.js";
import { createFindingsCollector } from "../stats/collect.js";
import { createProgress } from "../stats/progress.js";
import { parseTimeRange } from "../stats/time.js";
import { loadLabels, type TxLabel } from "../labels/labels.js";
import { readRangeWithProgress, toolLogger, type ToolIo } from "../stats/tool.js";
import { compareModels, type CompareInput, type CompareOptions, type CompareReport } from "./compare.js";
import { formatTerminal } from "./format.js";
import { formatCompareHtml } from "./html.js";
import { applyLabels, findingsToInput, readCompareCsv, readLabels } from "./input.js";

export interface CompareFlags {
  /** A feature CSV instead of a range of findings. */
  input?: string;
  from?: string;
  to?: string;
  /** Findings topic (default ATT_TOPIC_FINDINGS). */
  topic?: string;
  /** Only findings written by this model version. */
  modelVersion?: string;
  /** Labels: an `att simulate --exploits-log` file or a tx_hash,label CSV. */
  labels?: string;
  targetRate?: string;
  flips?: string;
  html?: string;
  json?: boolean;
  registry?: string;
}

export interface CompareIo extends ToolIo {
  signal?: AbortSignal;
}

/**
 * The transactions to compare on: a feature CSV (`--input`), or the scored findings of a time
 * range of the findings topic (each carries the feature values the score stage computed).
 */
export async function loadCompareInput(
  flags: CompareFlags,
  features: string[],
  io: CompareIo = {},
): Promise<CompareInput> {
  const config = loadConfig(io.env ?? process.env);
  const stderr = io.stderr ?? process.stderr;
  let input: CompareInput;
  let rangeLabel: ((txHash: string) => TxLabel | undefined) | undefined;
  if (flags.input) {
    if (flags.from || flags.to)
      throw new ConfigError("--input and --from/--to exclude each other", {
        details: ["Fix: compare on a feature CSV (--input) or on a time range of findings (--from/--to)."],
      });
    input = readCompareCsv(flags.input);
  } else {
    const nowMs = io.now ?? Date.now();
    const { fromMs, toMs } = parseTimeRange(flags, nowMs);
    const topic = flags.topic ?? config.kafka.topicFindings;
    const logger = toolLogger(config, stderr, "att-model-compare");
    const collector = createFindingsCollector({
      ...(flags.modelVersion ? { modelVersion: flags.modelVersion } : {}),
      featuresOf: () => features,
    });
    const kafka = createKafka(config.kafka, { logger, stage: "stats" });
    const result = await readRangeWithProgress(kafka, config, {
      topic,
      fromMs,
      toMs,
      onMessage: (m) => collector.add(m),
      stderr,
      logger,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    if (!result.complete)
      stderr.write("warning: reading stopped at the idle timeout; the range is partial\n");
    input = findingsToInput(
      `${topic} ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()}`,
      collector.findings.values(),
      features,
    );
    // The analysts' verdicts and the known exploit rows label the range too, as in att stats.
    const labels = await loadLabels(kafka, {
      verdictsTopic: config.labels.verdictsTopic,
      exploitLogs: [],
      logger,
    });
    const chainOf = new Map<string, number>();
    for (const f of collector.findings.values())
      if (f.txHash && f.chainId !== undefined) chainOf.set(f.txHash, f.chainId);
    rangeLabel = (id) => {
      const chainId = chainOf.get(id);
      return chainId === undefined ? undefined : labels.get(chainId, id);
    };
  }
  if (flags.labels) applyLabels(input, readLabels(flags.labels));
  // A verdict overrides what a labels file says; a known exploit row labels only unlabelled rows.
  if (rangeLabel)
    for (const row of input.rows) {
      const l = rangeLabel(row.id);
      if (l && (l.source === "verdict" || row.label === undefined)) row.label = l.positive;
    }
  return input;
}

function parseRate(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(n > 0 && n < 1))
    throw new ConfigError(`Invalid --target-rate: got ${JSON.stringify(raw)}`, {
      details: ["Expected: an anomaly rate between 0 and 1, e.g. 0.004 for 0.4 %."],
    });
  return n;
}

/** Loads `dirs`, runs `fn`, closes every model whatever happens. */
export async function withModels<T>(dirs: string[], fn: (models: Model[]) => Promise<T>): Promise<T> {
  const models: Model[] = [];
  try {
    for (const d of dirs) models.push(await loadModel(d, { requireKnownFeatures: false }));
    return await fn(models);
  } finally {
    await Promise.all(models.map((m) => m.close()));
  }
}

/** Scores `input` with every model, with a progress line on a terminal. */
export async function compareOn(
  models: Model[],
  input: CompareInput,
  opts: CompareOptions,
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<CompareReport> {
  const progress = createProgress(stderr, "Scoring");
  const report = await compareModels(models, input, {
    ...opts,
    onProgress: (read, total) => progress.update({ read, total }),
  });
  progress.done(input.rows.length * models.length);
  return report;
}

/** `att model compare A B [C…]`: the terminal table (or --json) and optionally the HTML report. */
export async function runCompare(
  targets: string[],
  flags: CompareFlags,
  io: CompareIo = {},
): Promise<CompareReport> {
  const config = loadConfig(
    io.env ?? process.env,
    flags.registry ? { model: { registry: flags.registry } } : {},
  );
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (targets.length < 2)
    throw new ConfigError(`att model compare needs at least two models, got ${targets.length}`, {
      details: ["Fix: att model compare <model> <model> [more…] (folders or registry versions)."],
    });
  const targetRate = parseRate(flags.targetRate);
  const maxFlips = flags.flips === undefined ? 20 : Number(flags.flips);
  if (!Number.isInteger(maxFlips) || maxFlips < 0)
    throw new ConfigError(
      `Invalid --flips: got ${JSON.stringify(flags.flips)}, expected a non-negative integer`,
    );
  const dirs = targets.map((t) => resolveTarget(t, config.model.registry));
  return withModels(dirs, async (models) => {
    const features = [...new Set(models.flatMap((m) => m.features))];
    const input = await loadCompareInput(flags, features, io);
    const report = await compareOn(
      models,
      input,
      { ...(targetRate !== undefined ? { targetRate } : {}), maxFlips, topK: config.score.explainTopK },
      stderr,
    );
    stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatTerminal(report));
    if (flags.html) {
      await writeFile(flags.html, formatCompareHtml(report), "utf8");
      stderr.write(`HTML report written to ${flags.html}\n`);
    }
    return report;
  });
}
