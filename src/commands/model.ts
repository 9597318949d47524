import type { Command } from "commander";

interface Common {
  registry?: string;
  json?: boolean;
}

const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The configuration with flag overrides (validated like the env vars). */
async function config(model: Record<string, unknown>, score: Record<string, unknown> = {}) {
  const { loadConfig } = await import("../kernel/config/index.js");
  return loadConfig(process.env, { model: defined(model), score: defined(score) });
}

/** The `model` configuration section with flag overrides. */
async function modelConfig(overrides: Record<string, unknown>) {
  return (await config(overrides)).model;
}

const PASS_THROUGH =
  "Other options are passed to the Python tool unchanged; `model-tools/.venv/bin/python -m att_model <command> --help` lists them.";

/**
 * `--version` anywhere on the command line is att's own version flag (commander parses program
 * options after subcommands too), so the Python tool's `--version` is spelled `--model-version`.
 */
const MODEL_VERSION = [
  "--model-version <version>",
  "version of the new model (default: creation unix time); the folder name with {version} in --out",
] as const;
const versionArgs = (v: string | undefined) => (v === undefined ? [] : ["--version", v]);

export function define(program: Command): void {
  const model = program
    .command("model")
    .description(
      "Import (any supported scikit-learn model or ONNX file), train, inspect, list and score models",
    );

  model
    .command("list")
    .description("List the models in the registry; * marks the default")
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .option("--json", "print JSON")
    .action(async (opts: Common) => {
      const c = await modelConfig({ registry: opts.registry });
      const { listModels, formatModelList } = await import("../model/cli/index.js");
      const list = await listModels(c.registry);
      process.stdout.write(opts.json ? JSON.stringify(list, null, 2) + "\n" : formatModelList(list));
    });

  model
    .command("inspect")
    .argument("[model]", "model folder, or registry version (default: the registry's DEFAULT)")
    .description(
      "Verify a model as the worker would (hashes, card, ONNX graph, forest/explain.json, probe rows) and print its card summary: estimator, score kind, labels, threshold, parity report, explanations",
    )
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .option("--json", "print JSON")
    .action(async (target: string | undefined, opts: Common) => {
      const c = await modelConfig({ registry: opts.registry });
      const { inspectModel, formatSummary, resolveTarget } = await import("../model/cli/index.js");
      const summary = await inspectModel(resolveTarget(target ?? c.dir ?? c.version, c.registry), {
        threshold: c.threshold,
      });
      process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + "\n" : formatSummary(summary));
    });

  model
    .command("score")
    .description(
      "Score a CSV of named feature columns; one JSON object per row (absent feature columns are 0)",
    )
    .requiredOption("--input <csv>", "CSV with a header of feature names")
    .option(
      "--model <model>",
      "model folder or registry version (default: ATT_MODEL_DIR / ATT_MODEL_VERSION / DEFAULT)",
    )
    .option("--explain", "add each row's top attributions (TreeSHAP, or the exact linear attribution)")
    .option("--top-k <n>", "attributions per row with --explain (ATT_SCORE_EXPLAIN_TOP_K)")
    .option(
      "--threshold <score>",
      "threshold instead of the card's: positive iff score >= it (ATT_MODEL_THRESHOLD)",
    )
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .action(
      async (
        opts: Common & {
          input: string;
          model?: string;
          explain?: boolean;
          topK?: string;
          threshold?: string;
        },
      ) => {
        const all = await config(
          { registry: opts.registry, threshold: opts.threshold },
          { explainTopK: opts.topK },
        );
        const c = all.model;
        const { scoreCsv, resolveTarget } = await import("../model/cli/index.js");
        const { modelSettingsFromConfig } = await import("../model/index.js");
        const dir = resolveTarget(opts.model ?? c.dir ?? c.version, c.registry);
        const { load } = modelSettingsFromConfig({ ...c, dir });
        const result = await scoreCsv(
          {
            dir,
            input: opts.input,
            explain: Boolean(opts.explain),
            topK: all.score.explainTopK,
            load,
          },
          (line) => process.stdout.write(line + "\n"),
        );
        process.stderr.write(
          `att model score: ${result.scored} rows scored, ${result.invalid} could not be scored\n`,
        );
        if (result.invalid > 0) process.exitCode = 1;
      },
    );

  model
    .command("import")
    .argument(
      "<file>",
      "scikit-learn model saved with pickle, joblib or skops (read through an allow-list; no code in the file runs), or an .onnx file",
    )
    .requiredOption("--out <dir>", "model folder to create; {version} is replaced by the version")
    .option(...MODEL_VERSION)
    .description(
      `Convert a scikit-learn model (IsolationForest, RandomForest, ExtraTrees, GradientBoosting, HistGradientBoosting, LogisticRegression, scaler/imputer Pipelines) in its own scikit-learn version into a model folder, proving parity first (docs/model.md "Bring your own model"). ${PASS_THROUGH}`,
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (file: string, opts: { out: string; modelVersion?: string }, cmd: Command) => {
      await delegate([
        "import",
        file,
        "--out",
        opts.out,
        ...versionArgs(opts.modelVersion),
        ...cmd.args.slice(1),
      ]);
    });

  model
    .command("train")
    .requiredOption("--input <csv>", "training rows: a CSV of named feature columns")
    .requiredOption("--out <dir>", "model folder to create; {version} is replaced by the version")
    .option(...MODEL_VERSION)
    .description(`Fit an IsolationForest on a CSV and export it as a model folder. ${PASS_THROUGH}`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { input: string; out: string; modelVersion?: string }, cmd: Command) => {
      await delegate([
        "train",
        "--input",
        opts.input,
        "--out",
        opts.out,
        ...versionArgs(opts.modelVersion),
        ...cmd.args,
      ]);
    });
}

async function delegate(args: string[]): Promise<void> {
  const c = await modelConfig({});
  const { runModelTools, resolveToolsDir } = await import("../model/cli/index.js");
  await runModelTools(args, { toolsDir: resolveToolsDir(c.toolsDir) });
}
