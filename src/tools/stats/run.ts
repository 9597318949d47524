import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { loadConfig } from "../../kernel/config/index.js";
import { ConfigError, ModelError } from "../../kernel/errors.js";
import { createKafka } from "../../kernel/kafka/index.js";
import { loadLabels } from "../labels/labels.js";
import { findMonitorCard, loadMonitorCard, type MonitorCard } from "../../monitor/card.js";
import { createFindingsCollector } from "./collect.js";
import { exportFeatureCsv } from "./export-features.js";
import { formatHtml } from "./html.js";
import { buildStatsReport, type StatsReport } from "./report.js";
import { formatTerminal } from "./terminal.js";
import { parseTimeRange } from "./time.js";
import { readRangeWithProgress, toolLogger, type ToolIo } from "./tool.js";

export interface StatsFlags {
  from?: string;
  to?: string;
  modelVersion?: string;
  topic?: string;
  model?: string;
  html?: string;
  json?: boolean;
  exportFeatures?: string;
  top?: string;
  thresholds?: string;
  /** JSONL of injected exploits (att simulate --exploits-log); default ATT_SIMULATE_EXPLOITS_LOG if that file exists. */
  exploitsLog?: string;
}

export interface StatsIo extends ToolIo {
  signal?: AbortSignal;
}

/** "0.45:0.6:0.01" (from:to:step) or "0.45,0.5,0.55". */
export function parseThresholds(raw: string): number[] {
  const range = /^\s*([\d.]+)\s*:\s*([\d.]+)\s*:\s*([\d.]+)\s*$/.exec(raw);
  let values: number[];
  if (range) {
    const [from, to, step] = [Number(range[1]), Number(range[2]), Number(range[3])];
    values = [];
    if (step > 0)
      for (let t = from; t <= to + 1e-9 && values.length < 1000; t += step) values.push(Number(t.toFixed(6)));
  } else values = raw.split(",").map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) {
    throw new ConfigError(`Invalid --thresholds: got ${JSON.stringify(raw)}`, {
      details: [
        "Expected: from:to:step (0.45:0.6:0.01) or a comma-separated list of numbers between 0 and 1.",
      ],
    });
  }
  return values;
}

/**
 * `att stats`: reads the findings of a time range, prints the report (tables, or JSON with
 * --json), and optionally writes the HTML report and the feature CSV for retraining.
 */
export async function runStats(flags: StatsFlags, io: StatsIo = {}): Promise<StatsReport> {
  const config = loadConfig(io.env ?? process.env);
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const nowMs = io.now ?? Date.now();
  const { fromMs, toMs } = parseTimeRange(flags, nowMs);
  const topN = flags.top ? Number(flags.top) : 10;
  if (!Number.isInteger(topN) || topN < 0)
    throw new ConfigError(`Invalid --top: got ${JSON.stringify(flags.top)}, expected a non-negative integer`);
  const thresholds = flags.thresholds ? parseThresholds(flags.thresholds) : undefined;
  const topic = flags.topic ?? config.kafka.topicFindings;
  const logger = toolLogger(config, stderr, "att-stats");

  // Model cards: --model for every finding, else the registry entry of each finding's version.
  const fixedCard = flags.model ? loadMonitorCard(flags.model) : undefined;
  const cards = new Map<string, MonitorCard | undefined>();
  const cardFor = (version: string): MonitorCard | undefined => {
    if (fixedCard) return fixedCard;
    if (!cards.has(version)) cards.set(version, findMonitorCard(config.model.registry, version));
    return cards.get(version);
  };
  if (flags.exportFeatures && flags.modelVersion && !cardFor(flags.modelVersion)) {
    throw noCard(flags.modelVersion, config.model.registry);
  }

  const collector = createFindingsCollector({
    ...(flags.modelVersion ? { modelVersion: flags.modelVersion } : {}),
    featuresOf: (v) => cardFor(v)?.features,
    keepFeatureText: Boolean(flags.exportFeatures),
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
  // Labels for precision and recall: the verdicts topic (compacted, read whole) and exploit logs.
  const exploitLogs = flags.exploitsLog
    ? [flags.exploitsLog]
    : config.simulate.exploitsLog && existsSync(config.simulate.exploitsLog)
      ? [config.simulate.exploitsLog]
      : [];
  const labels = await loadLabels(kafka, {
    verdictsTopic: config.labels.verdictsTopic,
    exploitLogs,
    logger,
  });
  if (collector.firstError) {
    logger.warn({
      msg: "Skipped records that are not Forta findings",
      count: collector.counters.unparseable,
      first_partition: collector.firstError.partition,
      first_offset: collector.firstError.offset,
      first_error: collector.firstError.message,
    });
  }

  const versions = [...collector.versions.keys()].filter(
    (v) => !flags.modelVersion || v === flags.modelVersion,
  );
  const analysed = flags.modelVersion ?? (versions.length === 1 ? versions[0] : undefined);
  const card = fixedCard ?? (analysed ? cardFor(analysed) : undefined);
  const report = buildStatsReport(
    collector.findings.values(),
    collector.drift,
    {
      ...collector.counters,
      complete: result.complete,
      partitions: result.partitions,
      openTransactions: result.openTransactions,
    },
    {
      topic,
      fromMs,
      toMs,
      ...(flags.modelVersion ? { modelVersion: flags.modelVersion } : {}),
      ...(card ? { card } : {}),
      ...(thresholds ? { thresholds } : {}),
      topN,
      labels,
    },
  );

  // Checked before any output, so that a failed export does not follow a printed report.
  if (flags.exportFeatures) {
    if (!fixedCard && versions.length > 1) {
      throw new ConfigError(
        `Cannot export features: the range holds ${versions.length} model versions (${versions.join(", ")})`,
        {
          details: ["Fix: choose one with --model-version <v> (or force a feature list with --model <dir>)."],
        },
      );
    }
    if (!card) throw noCard(analysed ?? "(none)", config.model.registry);
  }

  if (flags.json) stdout.write(JSON.stringify(report, null, 2) + "\n");
  else stdout.write(formatTerminal(report));
  if (flags.html) {
    await writeFile(flags.html, formatHtml(report), "utf8");
    stderr.write(`HTML report written to ${flags.html}\n`);
  }
  if (flags.exportFeatures) {
    const rows = await exportFeatureCsv(flags.exportFeatures, collector.findings.values(), card!.features);
    stderr.write(
      `Feature rows written to ${flags.exportFeatures}: ${rows.toLocaleString("en-US")} rows × ${card!.features.length} features` +
        `${collector.counters.missingFeatures ? ` (${collector.counters.missingFeatures} findings lacked a feature and were left out)` : ""}\n`,
    );
  }
  return report;
}

function noCard(version: string, registry: string): ModelError {
  return new ModelError(`No model card for model version ${version}`, {
    code: "ATT_MODEL_NOT_FOUND",
    details: [
      `Looked in: ${registry}/<folder>/model.json (ATT_MODEL_REGISTRY)`,
      "Fix: pass the model folder with --model <dir>.",
    ],
  });
}
