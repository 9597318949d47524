import type { Command } from "commander";
import type { RetrainFlags } from "../tools/retrain/run.js";

/**
 * The model loop's subcommands of `att model` (docs/model-loop.md): compare, retrain,
 * promote, rollback. Added to the `model` command that commands/model.ts defines.
 */
export function define(program: Command): void {
  const model = program.commands.find((c) => c.name() === "model");
  if (!model) throw new Error("commands/model.ts must define `att model` before the model loop");

  model
    .command("compare")
    .argument("<models...>", "two or more model folders or registry versions")
    .description(
      "Score the same transactions with every model and put them side by side: anomaly rate against training, Jaccard overlap of the flagged sets, Spearman rank correlation, the transactions that flip with both explanations, score histograms, precision/recall with labels",
    )
    .option(
      "--from <time>",
      "start of the findings range (ISO-8601, unix s/ms, now, -24h); default 24 h before --to",
    )
    .option("--to <time>", "end of the findings range, exclusive; default now")
    .option(
      "--input <csv>",
      "a feature CSV instead of a range of findings (att stats --export-features, att simulate --rows)",
    )
    .option("--topic <name>", "findings topic (default ATT_TOPIC_FINDINGS)")
    .option("--model-version <v>", "only findings written by this model version")
    .option("--labels <file>", "labels: an att simulate --exploits-log file, or a CSV with tx_hash,label")
    .option(
      "--target-rate <rate>",
      "anomaly rate for the 'threshold for target' column (default: each model's training rate)",
    )
    .option("--flips <n>", "flipped transactions listed", "20")
    .option("--html <file>", "also write a self-contained HTML report with the plots")
    .option("--json", "print the report as JSON")
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .action(async (targets: string[], flags: Record<string, string | boolean | undefined>) => {
      const { runCompare } = await import("../tools/compare/run.js");
      await runCompare(targets, flags);
      await exitWhenWritten();
    });

  model
    .command("retrain")
    .requiredOption("--from <time>", "start of the window of findings (same forms as att stats)")
    .requiredOption("--to <time>", "end of the window, exclusive")
    .description(
      "Train a new model on the features of a window of findings, with the base model's feature set and hyper-parameters; register it (not as default) and write its CHANGELOG entry with the compare summary",
    )
    .option("--topic <name>", "findings topic (default ATT_TOPIC_FINDINGS)")
    .option("--model-version <v>", "only findings written by this model version")
    .option(
      "--base <model>",
      "model whose features and hyper-parameters are reused (default: the registry DEFAULT)",
    )
    .option(
      "--exclude-verdict <verdict>",
      "leave out transactions with this verdict (true-positive, false-positive, benign); repeatable",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--verdicts-topic <name>", "verdicts topic (default ATT_VERDICTS_TOPIC)")
    .option("--n-estimators <n>", "trees (default: the base model's)")
    .option("--max-samples <n>", "samples per tree, or auto (default: the base model's)")
    .option("--random-state <n>", "seed (default: the base model's)")
    .option("--threshold <score>", "anomaly threshold of the new card (default: the base model's)")
    .option("--new-version <v>", "version (folder name) of the new model; default: the unix time")
    .option("--rows <csv>", "keep the training rows in this file")
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .option("--json", "print the result as JSON")
    .action(async (flags: RetrainFlags) => {
      const { runRetrain } = await import("../tools/retrain/run.js");
      await runRetrain(flags);
      await exitWhenWritten();
    });

  model
    .command("promote")
    .argument("<version>", "registry version to make the DEFAULT")
    .option("--reason <text>", "why, for the CHANGELOG line")
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .description("Verify a registered model and make it the registry's DEFAULT, with a CHANGELOG line")
    .action(async (version: string, opts: { reason?: string; registry?: string }) => {
      const { promoteModel } = await import("../model/cli/index.js");
      const move = await promoteModel(await registryOf(opts.registry), version, opts);
      process.stdout.write(
        move ? `DEFAULT ${move.from} → ${move.to}\n` : `${version} is already the default: nothing changed\n`,
      );
    });

  model
    .command("rollback")
    .option("--reason <text>", "why, for the CHANGELOG line")
    .option("--registry <dir>", "registry folder (ATT_MODEL_REGISTRY)")
    .description(
      "Move the registry's DEFAULT back to where the latest promote found it, with a CHANGELOG line",
    )
    .action(async (opts: { reason?: string; registry?: string }) => {
      const { rollbackModel } = await import("../model/cli/index.js");
      const move = await rollbackModel(await registryOf(opts.registry), opts);
      process.stdout.write(`DEFAULT ${move.from} → ${move.to}\n`);
    });
}

async function registryOf(flag: string | undefined): Promise<string> {
  const { loadConfig } = await import("../kernel/config/index.js");
  return loadConfig(process.env, flag ? { model: { registry: flag } } : {}).model.registry;
}

/** One-shot commands: a Kafka client retrying in the background must not keep the process alive. */
async function exitWhenWritten(): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(0);
}
