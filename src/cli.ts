#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { define as defineAllowlist } from "./commands/allowlist.js";
import { define as defineConfig } from "./commands/config.js";
import { define as defineDemo } from "./commands/demo.js";
import { define as defineEnrich } from "./commands/enrich.js";
import { define as defineIngest } from "./commands/ingest.js";
import { define as defineModel } from "./commands/model.js";
import { define as defineModelLoop } from "./commands/model-loop.js";
import { define as defineReplay } from "./commands/replay.js";
import { define as defineScore } from "./commands/score.js";
import { define as defineSimulate } from "./commands/simulate.js";
import { define as defineStats } from "./commands/stats.js";
import { define as defineTx } from "./commands/tx.js";
import { define as defineVerdict } from "./commands/verdict.js";
import { AttError, exitCodeFor } from "./kernel/errors.js";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command("att")
    .description(
      "Streaming Forta Anomalous Token Transfers detector. Configuration comes from ATT_* environment variables (see `att config`); flags override them.",
    )
    .version(pkg.version, "-V, --version")
    .showHelpAfterError()
    .exitOverride();
  for (const define of [
    defineIngest,
    defineScore,
    defineEnrich,
    defineReplay,
    defineTx,
    defineStats,
    defineVerdict,
    defineAllowlist,
    defineModel,
    defineModelLoop,
    defineSimulate,
    defineDemo,
    defineConfig,
  ]) {
    define(program);
  }
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof AttError) {
      process.stderr.write(`att: ${err.message}\n`);
    } else {
      process.stderr.write(
        `att: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exit(exitCodeFor(err));
  }
}

await main();
