import { Option, type Command } from "commander";

export function define(program: Command): void {
  program
    .command("enrich")
    .description(
      "Run enrichment workers (token metadata, first-transaction time) under a rate limit shared by every replica",
    )
    .addOption(new Option("--only <kind>", "serve one queue only").choices(["token", "firsttx"]))
    .action(async (opts: { only?: "token" | "firsttx" }) => {
      const { runEnrich } = await import("../enrich/run.js");
      await runEnrich(opts.only ? { kinds: [opts.only] } : {});
    });
}
