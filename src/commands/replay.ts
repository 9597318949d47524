import type { Command } from "commander";
import { ConfigError } from "../kernel/errors.js";
import type { ReplayFlags } from "../score/replay/run.js";

export function define(program: Command): void {
  program
    .command("replay")
    .description(
      "Reset a stopped consumer group's offsets to re-score history (then start `att score` with that group)",
    )
    .requiredOption("--group <id>", "consumer group to move (must have no running members)")
    .option("--topic <name>", "input topic (default: ATT_TOPIC_TRANSFERS)")
    .option("--to-earliest", "move to the beginning of the topic")
    .option("--to-latest", "move to the end (skip the backlog)")
    .option(
      "--to-timestamp <time>",
      "move to the first message at or after this time (ISO-8601, unix s or ms)",
    )
    .option("--to-offset <p:o,...>", "move partitions to explicit offsets, e.g. 0:120,1:98")
    .option("--dry-run", "show the moves without applying them")
    .addHelpText(
      "after",
      "\nShadow model: run a second `att score` beside the live one with its own group and findings topic,\n" +
        "e.g. ATT_SCORE_GROUP_ID=att-score-shadow ATT_TOPIC_FINDINGS=att.findings.shadow.v1 ATT_MODEL_VERSION=<v> att score,\n" +
        "after `att replay --group att-score-shadow --to-timestamp <t>`.",
    )
    .action(async (flags: ReplayFlags) => {
      const { runReplay } = await import("../score/replay/run.js");
      const chosen = [flags.toEarliest, flags.toLatest, flags.toTimestamp, flags.toOffset].filter(
        (x) => x !== undefined && x !== false,
      );
      if (chosen.length !== 1) {
        throw new ConfigError("att replay needs exactly one target", {
          details: ["Expected one of --to-earliest, --to-latest, --to-timestamp <t>, --to-offset <p:o,...>"],
        });
      }
      await runReplay(flags);
    });
}
