import type { Command } from "commander";

export function define(program: Command): void {
  program
    .command("score")
    .description(
      "Consume token-transfer transactions, score them and write Forta findings (one consumer-group replica)",
    )
    .action(async () => {
      const { runScore } = await import("../score/run.js");
      await runScore();
    });
}
