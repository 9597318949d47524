import { parseArgs } from "node:util";

/**
 * Command-line flags of the benchmarks, read by `node:util` parseArgs: `--quick`, `--name value`,
 * `--name=value`, lists as `--processes 1,2`. Each benchmark declares the flags that take a value
 * (`string`) and the switches (`boolean`); `--quick` is always a switch. Flags a benchmark does
 * not declare are ignored, as `npm run bench` passes its own (`--quick`) to every benchmark.
 *
 * @example
 *   const args = benchArgs({ transactions: "string", dist: "boolean" });
 *   const n = args.num("transactions", args.quick ? 20_000 : 200_000);
 */
export interface BenchArgs {
  readonly quick: boolean;
  has(name: string): boolean;
  str(name: string): string | undefined;
  num(name: string, def: number): number;
  list(name: string): string[];
}

export function benchArgs(
  flags: Record<string, "string" | "boolean">,
  argv: string[] = process.argv.slice(2),
): BenchArgs {
  const options = Object.fromEntries(
    Object.entries({ ...flags, quick: "boolean" }).map(([name, type]) => [name, { type }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  const { values } = parseArgs({ args: argv, options, strict: false, allowPositionals: true });
  const str = (name: string): string | undefined => {
    const v = values[name];
    return v === undefined ? undefined : String(v);
  };
  const num = (name: string, def: number) => {
    const v = str(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    quick: str("quick") !== undefined && str("quick") !== "false",
    has: (name) => values[name] !== undefined,
    str,
    num,
    list: (name) =>
      (str(name) ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
  };
}
