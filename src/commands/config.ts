import type { Command } from "commander";
import { describeConfig, loadConfig } from "../kernel/config/index.js";

export function define(program: Command): void {
  program
    .command("config")
    .description("Print every configuration option with its default, or check the current environment")
    .option("--markdown", "print the option table as Markdown")
    .option("--check", "validate the current environment and exit non-zero with the problems")
    .action((opts: { markdown?: boolean; check?: boolean }) => {
      if (opts.check) {
        loadConfig(process.env);
        process.stdout.write("configuration ok\n");
        return;
      }
      process.stdout.write(describeConfig(opts.markdown ? "markdown" : "text") + "\n");
    });
}
