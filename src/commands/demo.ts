import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("demo")
    .description("Run everything locally: stack, pipeline, simulator and a live view")
    .action(notBuiltYet("demo", 8));
}
