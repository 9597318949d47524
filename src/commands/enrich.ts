import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("enrich")
    .description("Run enrichment workers (token metadata, first-transaction time) under a shared rate limit")
    .action(notBuiltYet("enrich", 4));
}
