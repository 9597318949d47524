import type { Command } from "commander";

export function define(program: Command): void {
  program
    .command("demo")
    .description(
      "Run everything locally: Kafka + Redis (started if needed), a node with simulated traffic and exploits, ingest, enrich and score, a live view, and a summary (recall, anomaly rate, latency)",
    )
    .option("--duration <s>", "stop after this many seconds of traffic (default: until Ctrl-C)")
    .option("--json", "print the summary as one JSON object on stdout (progress goes to stderr)")
    .option("--rpc <url>", "use this anvil instead of the stack's or a private one")
    .option("--rate <tx/s>", "normal transactions per second (ATT_SIMULATE_RATE)")
    .option(
      "--exploits-per-minute <n>",
      "exploit-like transactions per minute (ATT_SIMULATE_EXPLOITS_PER_MINUTE)",
    )
    .option("--seed <n>", "simulator seed (ATT_SIMULATE_SEED)")
    .option("--keep-data", "keep the run's Kafka topics and Redis keys")
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { runDemo } = await import("../tools/demo/run.js");
      const code = await runDemo(opts);
      process.exit(code);
    });
}
