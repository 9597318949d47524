import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("model")
    .description("Import, train, inspect and score IsolationForest models")
    .action(notBuiltYet("model", 5));
}
