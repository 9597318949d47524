import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("score")
    .description("Consume token-transfer transactions, score them and write Forta findings")
    .action(notBuiltYet("score", 6));
}
