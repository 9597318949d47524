import type { Command } from "commander";
import { notBuiltYet } from "./not-built.js";

export function define(program: Command): void {
  program
    .command("simulate")
    .description("Deploy ERC-20 contracts on a node and send normal and exploit-like traffic")
    .action(notBuiltYet("simulate", 8));
}
