import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("stats")
    .description("Model statistics over a time range of findings")
    .action(notBuiltYet("stats", 7));
}
