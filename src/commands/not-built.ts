import type { Command } from "commander";

/** Placeholder action for a subcommand whose stage has not landed yet. */
export function notBuiltYet(name: string, issue: number): () => never {
  return () => {
    process.stderr.write(`att ${name}: not built yet (tracked in issue #${issue}).\n`);
    process.exit(2);
  };
}

export type Define = (program: Command) => void;
