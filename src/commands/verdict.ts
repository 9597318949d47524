import type { Command } from "commander";
import type { VerdictFlags } from "../tools/labels/verdict.js";

export function define(program: Command): void {
  program
    .command("verdict")
    .description(
      "Record an analyst's verdict on a scored transaction (compacted topic ATT_VERDICTS_TOPIC, keyed <chainId>:<txHash>; a later verdict replaces it): precision and recall in att stats",
    )
    .argument("<tx-hash>", "the transaction (0x and 64 hex digits)")
    .argument("[verdict]", "true-positive, false-positive or benign (none with --withdraw)")
    .option("--note <text>", "free text: why, or a ticket link (at most 2000 characters)")
    .option("--chain-id <n>", "chain of the transaction (default: ATT_CHAIN_ID)")
    .option("--by <name>", "who gives the verdict (default: the login name)")
    .option("--withdraw", "withdraw the transaction's verdict (a tombstone for its key)")
    .action(async (txHash: string, verdict: string | undefined, flags: VerdictFlags) => {
      const { runVerdict, runWithdrawVerdict } = await import("../tools/labels/verdict.js");
      if (flags.withdraw) await runWithdrawVerdict(txHash, verdict, flags);
      else await runVerdict(txHash, verdict, flags);
    });
}
