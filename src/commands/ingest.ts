import type { Command } from "commander";

export function define(program: Command): void {
  program
    .command("ingest")
    .description(
      "Subscribe to new blocks and publish token-transfer transactions to Kafka (one active per chain; a second one waits as standby)",
    )
    .option("--from-block <n>", "start at this block instead of the checkpoint (ATT_INGEST_FROM_BLOCK)")
    .option("--confirmations <n>", "confirmation depth (ATT_INGEST_CONFIRMATIONS)")
    .option("--chain-id <id>", "expected chain id (ATT_CHAIN_ID)")
    .option("--rpc-http <url>", "JSON-RPC HTTP URL (ATT_RPC_HTTP_URL)")
    .option("--rpc-ws <url>", "JSON-RPC WebSocket URL (ATT_RPC_WS_URL)")
    .action(async (flags: Record<string, string | undefined>) => {
      const { runIngest } = await import("../ingest/run.js");
      await runIngest(flags);
    });
}
