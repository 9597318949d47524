import type { Command } from "commander";

export function define(program: Command): void {
  program
    .command("tx")
    .description(
      "Score one transaction by hash and print its finding (no Kafka needed), like a Forta bot's `npm run tx`",
    )
    .argument("<hash>", "transaction hash (0x + 64 hex digits)")
    .option("--rpc <url>", "JSON-RPC HTTP endpoint (default: ATT_RPC_HTTP_URL)")
    .option(
      "--model <version-or-dir>",
      "model version in the registry, or a model folder (default: ATT_MODEL_* / the registry DEFAULT)",
    )
    .action(async (hash: string, opts: { rpc?: string; model?: string }) => {
      const { runTx } = await import("../score/tx/run.js");
      await runTx(hash, opts);
    });
}
