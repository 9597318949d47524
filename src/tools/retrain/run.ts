import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERT_IDS } from "../../contracts/finding.js";
import { loadConfig } from "../../kernel/config/index.js";
import { ConfigError, ValidationError } from "../../kernel/errors.js";
import { createKafka } from "../../kernel/kafka/index.js";
import { sleep } from "../../kernel/shutdown.js";
import { resolveToolsDir, resolveTarget, runModelTools } from "../../model/cli/index.js";
import { resolveModelDir } from "../../model/index.js";
import { compareOn, withModels } from "../compare/run.js";
import type { CompareReport } from "../compare/compare.js";
import { findingsToInput } from "../compare/input.js";
import { createFindingsCollector } from "../stats/collect.js";
import { exportFeatureCsv } from "../stats/export-features.js";
import { parseTimeRange } from "../stats/time.js";
import { readRangeWithProgress, toolLogger, type ToolIo } from "../stats/tool.js";
import { readVerdicts } from "./verdicts.js";

export interface RetrainFlags {
  from: string;
  to: string;
  topic?: string;
  /** Only findings written by this model version. */
  modelVersion?: string;
  /** The model whose feature set and hyper-parameters are reused (default: the registry DEFAULT). */
  base?: string;
  /** Verdicts whose transactions are left out of training (e.g. true-positive). */
  excludeVerdict?: string[];
  verdictsTopic?: string;
  nEstimators?: string;
  maxSamples?: string;
  randomState?: string;
  threshold?: string;
  /** Version (folder name) of the new model; default the unix time. */
  newVersion?: string;
  /** Keep the training rows at this path (default: a temporary file, removed afterwards). */
  rows?: string;
  registry?: string;
  json?: boolean;
}

export type RetrainIo = ToolIo;

export interface RetrainResult {
  version: string;
  dir: string;
  base: string;
  window: { from: string; to: string; topic: string };
  rows: number;
  excluded: number;
  params: Record<string, string | number>;
  threshold: number;
  trainingAnomalyRate: number | null;
  compare: CompareReport;
}

/** Longest wait for a window whose end (--to) is still ahead. */
const MAX_WAIT_FOR_WINDOW_MS = 60_000;
/** Fewer rows cannot grow an IsolationForest worth comparing (max_samples is min(256, n)). */
const MIN_ROWS = 50;

interface BaseCard {
  features: string[];
  threshold: number;
  token_match?: string;
  tokens?: unknown[];
  source?: { params?: Record<string, unknown> };
  training?: { anomaly_rate?: number; n_rows?: number };
}

const readCard = (dir: string) => JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as BaseCard;

/**
 * `att model retrain`: the feature rows of a window of findings (each finding carries the
 * features the score stage computed; INVALID findings and transactions with an excluded verdict
 * are left out) train a new IsolationForest with the base model's feature set, tokens and
 * hyper-parameters (or the ones given); it is registered (not made the default), compared with
 * the base on the same rows, and its CHANGELOG entry written.
 */
export async function runRetrain(flags: RetrainFlags, io: RetrainIo = {}): Promise<RetrainResult> {
  const config = loadConfig(
    io.env ?? process.env,
    flags.registry ? { model: { registry: flags.registry } } : {},
  );
  const registry = config.model.registry;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const nowMs = io.now ?? Date.now();
  const { fromMs, toMs } = parseTimeRange(flags, nowMs);
  const exclude = new Set(flags.excludeVerdict ?? []);
  for (const v of exclude)
    if (!["true-positive", "false-positive", "benign"].includes(v))
      throw new ConfigError(`Invalid --exclude-verdict: got ${JSON.stringify(v)}`, {
        details: ["Expected: true-positive, false-positive or benign (repeat the flag for more)."],
      });

  const baseDir = flags.base ? resolveTarget(flags.base, registry) : resolveModelDir(registry);
  const base = readCard(baseDir);
  const p = base.source?.params ?? {};
  const params = {
    n_estimators: flags.nEstimators ?? String(p.n_estimators ?? 100),
    max_samples: flags.maxSamples ?? String(p.max_samples ?? "auto"),
    max_features: String(p.max_features ?? 1.0),
    random_state: flags.randomState ?? String(p.random_state ?? 42),
  };
  const threshold = flags.threshold !== undefined ? Number(flags.threshold) : base.threshold;
  if (!(threshold > 0 && threshold <= 1))
    throw new ConfigError(
      `Invalid --threshold: got ${JSON.stringify(flags.threshold)}, expected a score in (0, 1]`,
    );
  const version = flags.newVersion ?? String(Math.floor(nowMs / 1000));
  if (existsSync(join(registry, version)))
    throw new ConfigError(`Model version ${version} is already in the registry ${registry}`, {
      details: ["Fix: choose another with --new-version (registry folders are never overwritten)."],
    });

  // A window that has not ended yet (a drift finding's command run at once: its --to includes a
  // grace period after the window) is waited for, briefly; rows written later would be missing.
  const ahead = toMs - Date.now();
  if (ahead > MAX_WAIT_FOR_WINDOW_MS)
    throw new ConfigError("--to is in the future: the window has not ended yet", {
      details: [
        `Got: --to ${new Date(toMs).toISOString()}, ${Math.round(ahead / 1000)} s from now`,
        "Fix: run it after the window ended.",
      ],
    });
  if (ahead > 0) {
    stderr.write(`The window ends in ${(ahead / 1000).toFixed(1)} s: waiting for it\n`);
    await sleep(ahead + 1000);
  }

  // 1. The window's findings, with their feature values.
  const topic = flags.topic ?? config.kafka.topicFindings;
  const logger = toolLogger(config, stderr, "att-model-retrain");
  const kafka = createKafka(config.kafka, { logger, stage: "stats" });
  const collector = createFindingsCollector({
    ...(flags.modelVersion ? { modelVersion: flags.modelVersion } : {}),
    featuresOf: () => base.features,
    keepFeatureText: true,
  });
  const read = await readRangeWithProgress(kafka, config, {
    topic,
    fromMs,
    toMs,
    onMessage: (m) => collector.add(m),
    stderr,
    logger,
  });
  if (!read.complete)
    throw new ValidationError("Reading the window stopped at the idle timeout: not training on part of it.", {
      details: ["Fix: retry, or raise ATT_STATS_IDLE_TIMEOUT_MS."],
    });

  // 2. Leave out transactions with an excluded verdict.
  let excluded = 0;
  if (exclude.size) {
    const verdicts = await readVerdicts(kafka, {
      topic: flags.verdictsTopic ?? config.labels.verdictsTopic,
      logger,
      idleTimeoutMs: config.monitor.statsIdleTimeoutMs,
    });
    for (const [key, f] of collector.findings) {
      const v = f.txHash ? verdicts.get(f.txHash.toLowerCase()) : undefined;
      if (v && exclude.has(v)) {
        collector.findings.delete(key);
        excluded++;
      }
    }
  }

  // 3. Train.
  const work = mkdtempSync(join(tmpdir(), "att-retrain-"));
  try {
    const csv = flags.rows ?? join(work, "rows.csv");
    const rows = await exportFeatureCsv(csv, collector.findings.values(), base.features);
    if (rows < MIN_ROWS)
      throw new ValidationError(
        `The window holds ${rows} scored transactions; at least ${MIN_ROWS} are needed to train.`,
        {
          details: [
            `Got: ${topic} ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()}, ${excluded} left out by verdicts`,
            "Fix: a longer window (--from/--to), or check --topic and --model-version.",
          ],
        },
      );
    stderr.write(
      `Training ${version} on ${rows.toLocaleString("en-US")} rows × ${base.features.length} features\n`,
    );
    const args = [
      "train",
      "--input",
      csv,
      "--out",
      join(registry, version),
      "--version",
      version,
      "--n-estimators",
      params.n_estimators,
      "--max-samples",
      params.max_samples,
      "--max-features",
      params.max_features,
      "--random-state",
      params.random_state,
      "--threshold",
      String(threshold),
    ];
    if (base.token_match) args.push("--token-match", base.token_match);
    if (base.tokens?.length) {
      const tokens = join(work, "tokens.json");
      writeFileSync(tokens, JSON.stringify(base.tokens));
      args.push("--tokens-json", tokens);
    }
    // The Python tool's own output goes to stderr: stdout is the result (JSON with --json).
    await runModelTools(args, { toolsDir: resolveToolsDir(config.model.toolsDir), stdout: stderr, stderr });
    const dir = join(registry, version);
    const card = readCard(dir);

    // 4. Compare with the base on the same rows.
    const inputRows = findingsToInput(
      `${topic} ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()}`,
      [...collector.findings.values()].filter((f) => f.alertId !== ALERT_IDS.invalid),
      base.features,
    );
    const compare = await withModels([baseDir, dir], (models) =>
      compareOn(models, inputRows, { maxFlips: 10, topK: config.score.explainTopK }, stderr),
    );
    const result: RetrainResult = {
      version,
      dir,
      base: compare.models[0]!.version,
      window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), topic },
      rows,
      excluded,
      params: { ...params, threshold },
      threshold,
      trainingAnomalyRate: card.training?.anomaly_rate ?? null,
      compare,
    };
    if (result.trainingAnomalyRate === 0)
      stderr.write(
        `warning: ${version} flags none of its ${rows} training rows at ${threshold}: the drift monitor's rate test will alarm on any anomaly; retrain on a longer window\n`,
      );
    writeChangelog(registry, result, exclude);
    stdout.write(flags.json ? JSON.stringify(result, null, 2) + "\n" : formatRetrain(result));
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "unknown" : `${(x * 100).toFixed(3)} %`;

/** The compare summary line of the CHANGELOG entry and the terminal. */
function compareSummary(r: RetrainResult): string[] {
  const [b, n] = r.compare.models;
  const pair = r.compare.pairs[0]!;
  return [
    `on the window's ${r.compare.rows.toLocaleString("en-US")} transactions: ${b!.version} (base) flags ${pct(b!.rate)} (${b!.rateRatio?.toFixed(2) ?? "?"}× its training rate), ${n!.version} flags ${pct(n!.rate)} (${n!.rateRatio?.toFixed(2) ?? "?"}× its training rate)`,
    `flagged sets overlap: Jaccard ${pair.jaccard?.toFixed(3) ?? "-"} (${pair.both} both, ${pair.onlyA} only base, ${pair.onlyB} only new); Spearman ρ of scores ${pair.spearman?.toFixed(4) ?? "-"}`,
  ];
}

function writeChangelog(registry: string, r: RetrainResult, exclude: Set<string>): void {
  const path = join(registry, "CHANGELOG.md");
  const lines = [
    "",
    `## ${r.version} — retrained from production (${r.window.to.slice(0, 10)})`,
    `- **What:** IsolationForest(n_estimators=${r.params.n_estimators}, max_samples=${r.params.max_samples}, max_features=${r.params.max_features}, random_state=${r.params.random_state}) with the feature set, tokens and threshold (${r.threshold}) of ${r.base}, written by \`att model retrain\`.`,
    `- **Training window:** findings of ${r.window.topic} from ${r.window.from} to ${r.window.to}; ${r.rows.toLocaleString("en-US")} rows${exclude.size ? `, ${r.excluded} transactions with verdict ${[...exclude].join("/")} left out` : ""}.`,
    `- **Training anomaly rate at ${r.threshold}:** ${pct(r.trainingAnomalyRate)}${r.trainingAnomalyRate === 0 ? " — none of the training rows is flagged: the drift monitor will alarm on any anomaly (train on a longer window)" : ""}.`,
    `- **Compared with ${r.base}:** ${compareSummary(r).join("; ")}.`,
    `- **Not the default:** \`att model promote ${r.version}\` makes it one.`,
    "",
  ];
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Model registry changelog\n";
  if (!existsSync(path)) writeFileSync(path, text);
  appendFileSync(path, (text.endsWith("\n") ? "" : "\n") + lines.join("\n"));
}

export function formatRetrain(r: RetrainResult): string {
  return (
    [
      `Registered ${r.version} in ${r.dir} (not the default)`,
      `  window            ${r.window.topic} ${r.window.from} → ${r.window.to}`,
      `  rows              ${r.rows.toLocaleString("en-US")}${r.excluded ? ` (${r.excluded} left out by verdicts)` : ""}`,
      `  training anomaly  ${pct(r.trainingAnomalyRate)} at ${r.threshold}`,
      ...compareSummary(r).map((l) => `  ${l}`),
      `  next              att model compare ${r.base} ${r.version} --from ${r.window.from} --to ${r.window.to} --html compare.html`,
      `                    att model promote ${r.version}`,
    ].join("\n") + "\n"
  );
}
