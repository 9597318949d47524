/**
 * Command-line flags of the benchmarks: `--quick`, `--name value`, `--name=value`.
 *
 * @example
 *   const args = parseArgs();
 *   const n = args.num("transactions", args.quick ? 20_000 : 200_000);
 */
export interface BenchArgs {
  readonly quick: boolean;
  has(name: string): boolean;
  str(name: string): string | undefined;
  num(name: string, def: number): number;
  list(name: string): string[];
}

export function parseArgs(argv: string[] = process.argv.slice(2)): BenchArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) values.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) values.set(a.slice(2), argv[++i]!);
    else values.set(a.slice(2), "true");
  }
  const num = (name: string, def: number) => {
    const v = values.get(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    quick: values.has("quick") && values.get("quick") !== "false",
    has: (name) => values.has(name),
    str: (name) => values.get(name),
    num,
    list: (name) =>
      (values.get(name) ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
  };
}
