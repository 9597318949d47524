import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("ingest")
    .description("Subscribe to new blocks and publish token-transfer transactions to Kafka")
    .action(notBuiltYet("ingest", 3));
}
