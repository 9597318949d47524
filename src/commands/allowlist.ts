import type { Command } from "commander";
import type { AllowlistFlags } from "../tools/labels/allowlist.js";

export function define(program: Command): void {
  const cmd = program
    .command("allowlist")
    .description(
      "Addresses known to be benign (compacted topic ATT_ALLOWLIST_TOPIC): att score still scores their transactions but marks the findings metadata.allowlisted and keeps them off the alerts topic; running replicas apply changes within seconds",
    );
  cmd
    .command("add")
    .description("allow-list an address (a sender, or a contract that transactions call)")
    .argument("<address>", "0x and 40 hex digits")
    .requiredOption("--reason <text>", "why it is benign (e.g. the MEV bot of …, triaged in …)")
    .option("--kind <kind>", "sender (transactions from it) or contract (transactions to it)", "sender")
    .option("--chain-id <n>", "chain (default: ATT_CHAIN_ID)")
    .option("--by <name>", "who adds it (default: the login name)")
    .action(async (address: string, flags: AllowlistFlags) => {
      const { runAllowlistAdd } = await import("../tools/labels/allowlist.js");
      await runAllowlistAdd(address, flags);
    });
  cmd
    .command("remove")
    .description("take an address off the allow-list (a tombstone for its key)")
    .argument("<address>", "0x and 40 hex digits")
    .option("--chain-id <n>", "chain (default: ATT_CHAIN_ID)")
    .action(async (address: string, flags: AllowlistFlags) => {
      const { runAllowlistRemove } = await import("../tools/labels/allowlist.js");
      await runAllowlistRemove(address, flags);
    });
  cmd
    .command("list")
    .description("the current allow-list (the latest entry of every address)")
    .option("--chain-id <n>", "only this chain")
    .option("--json", "print the entries as JSON")
    .action(async (flags: AllowlistFlags) => {
      const { runAllowlistList } = await import("../tools/labels/allowlist.js");
      await runAllowlistList(flags);
      // One-shot command: a Kafka client still retrying in the background must not keep it alive.
      await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
      process.exit(0);
    });
}
