import type { Command } from "commander";

export function define(program: Command): void {
  program
    .command("simulate")
    .description(
      "Deploy the model's ERC-20 tokens on anvil (real decimals) and send normal and exploit-like traffic calibrated to the ATT training data; or, with --rows/--out, write simulated feature rows for `att model train`",
    )
    .option("--rpc <url>", "anvil JSON-RPC over HTTP (default ATT_RPC_HTTP_URL)")
    .option("--rate <tx/s>", "normal transactions per second (ATT_SIMULATE_RATE)")
    .option(
      "--exploits-per-minute <n>",
      "exploit-like transactions per minute (ATT_SIMULATE_EXPLOITS_PER_MINUTE)",
    )
    .option("--accounts <n>", "established sender accounts (ATT_SIMULATE_ACCOUNTS)")
    .option("--seed <n>", "random seed (ATT_SIMULATE_SEED)")
    .option("--marginals <file>", "training_marginals.json (ATT_SIMULATE_MARGINALS)")
    .option("--exploits-log <file>", "append one JSON line per injected exploit (ATT_SIMULATE_EXPLOITS_LOG)")
    .option("--duration <s>", "stop after this many seconds (default: until Ctrl-C)")
    .option("--rows <n>", "no chain: write the feature rows of N simulated transactions")
    .option("--out <file.csv>", "with --rows: the CSV to write (att model train --input accepts it)")
    .option("--shift-at <s>", "seconds into the traffic after which --shift-mix applies (default 0)")
    .option(
      "--shift-mix <spec>",
      "a lasting shift in the traffic mix: SYMBOL:SHARE[,…] — that share of normal transactions also moves the token (docs/model-loop.md)",
    )
    .option("--exploit-rows <n>", "with --rows: also append N exploit rows (label=exploit)")
    .action(async (opts: Record<string, string | undefined>) => {
      const { runSimulateCommand } = await import("../tools/simulate/run.js");
      await runSimulateCommand(opts);
    });
}
