import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("tx")
    .description("Score one transaction by hash and print its finding (no Kafka needed)")
    .action(notBuiltYet("tx", 6));
}
