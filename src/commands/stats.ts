import type { Command } from "commander";
import type { StatsFlags } from "../tools/stats/run.js";

export function define(program: Command): void {
  program
    .command("stats")
    .description(
      "Model statistics over a time range of findings: counts per alert id and severity, anomaly rate against training (binomial z), score histogram, what-if thresholds, top anomalies, drift",
    )
    .option(
      "--from <time>",
      "start (ISO-8601, unix s/ms, now, or relative like -24h); default: 24 h before --to",
    )
    .option("--to <time>", "end, exclusive (same forms as --from); default: now")
    .option("--model-version <v>", "only findings of this model version")
    .option("--topic <name>", "findings topic (default: ATT_TOPIC_FINDINGS)")
    .option(
      "--model <dir>",
      "model folder whose card (model.json) gives the training statistics and features",
    )
    .option("--html <file>", "also write a self-contained HTML report (inline SVG, opens offline)")
    .option("--json", "print the report as JSON instead of tables")
    .option("--export-features <csv>", "write the range's feature rows as the CSV `att model train` reads")
    .option("--top <n>", "anomalies listed", "10")
    .option(
      "--exploits-log <file>",
      "injected exploits (att simulate --exploits-log) as labelled positives (default: ATT_SIMULATE_EXPLOITS_LOG)",
    )
    .option("--thresholds <spec>", "what-if thresholds: from:to:step or a list", "0.45:0.6:0.01")
    .action(async (flags: StatsFlags) => {
      const { runStats } = await import("../tools/stats/run.js");
      await runStats(flags);
      // One-shot command: a Kafka client still retrying in the background (a read cut short by
      // the idle timeout while joining) must not keep the process alive once the report is out.
      await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
      process.exit(0);
    });
}
