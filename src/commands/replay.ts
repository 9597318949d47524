import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("replay")
    .description("Reset a stopped consumer group's offsets to re-score history")
    .action(notBuiltYet("replay", 6));
}
