import { resolve } from "node:path";
import type { Overrides } from "../../kernel/config/index.js";
import { ConfigError } from "../../kernel/errors.js";
import { createRuntime } from "../../kernel/runtime.js";
import { randomSeed } from "./random.js";
import { simulateFeatureRows, writeRowsCsv } from "./rows.js";
import { createSimulator } from "./simulator.js";
import { parseMixShift } from "./mix-shift.js";
import { loadSimulationSources } from "./sources.js";

export interface SimulateCommandOptions {
  rpc?: string;
  rate?: string;
  exploitsPerMinute?: string;
  accounts?: string;
  seed?: string;
  marginals?: string;
  exploitsLog?: string;
  duration?: string;
  rows?: string;
  out?: string;
  exploitRows?: string;
  /** Seconds into the traffic after which --shift-mix applies (default 0). */
  shiftAt?: string;
  shiftMix?: string;
}

function positiveInt(flag: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ConfigError(`Invalid ${flag}: got ${JSON.stringify(raw)}, expected a non-negative integer.`);
  }
  return n;
}

/** `att simulate`: traffic on a node, or (`--rows N --out file.csv`) feature rows without a chain. */
export async function runSimulateCommand(opts: SimulateCommandOptions): Promise<void> {
  const overrides: Overrides = {
    ...(opts.rpc ? { chain: { rpcHttpUrl: opts.rpc } } : {}),
    simulate: {
      ...(opts.rate ? { rate: opts.rate } : {}),
      ...(opts.exploitsPerMinute ? { exploitsPerMinute: opts.exploitsPerMinute } : {}),
      ...(opts.accounts ? { accounts: opts.accounts } : {}),
      ...(opts.seed ? { seed: opts.seed } : {}),
      ...(opts.marginals ? { marginals: opts.marginals } : {}),
      ...(opts.exploitsLog ? { exploitsLog: opts.exploitsLog } : {}),
    },
  };
  if ((opts.rows === undefined) !== (opts.out === undefined)) {
    throw new ConfigError("--rows and --out go together: att simulate --rows <N> --out <file.csv>");
  }
  // Before the node is touched: a bad --duration must not leave tokens deployed behind it.
  const durationS = positiveInt("--duration", opts.duration, 0);
  const shiftAtS = positiveInt("--shift-at", opts.shiftAt, 0);
  if (opts.shiftAt !== undefined && opts.shiftMix === undefined)
    throw new ConfigError("--shift-at needs --shift-mix: att simulate --shift-at <s> --shift-mix SHIB:0.8");
  // Own signal handling: the first Ctrl-C stops the traffic and still prints the totals; a
  // second one exits at once.
  const rt = await createRuntime("simulate", { overrides, serveMetrics: false, signals: false });
  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort(new Error("signal")));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const c = rt.config.simulate;
  const seed = c.seed ?? randomSeed();
  const sources = await loadSimulationSources(rt.config);
  rt.logger.info({
    msg: "Simulation sources",
    seed,
    tokens_from: sources.tokensFrom,
    marginals_from: sources.marginalsFrom,
    model_dir: sources.modelDir,
  });

  if (opts.rows !== undefined && opts.out !== undefined) {
    if (!sources.card)
      throw new ConfigError(
        "--rows needs a model card for the feature list (ATT_MODEL_DIR or a registry DEFAULT)",
      );
    const rows = positiveInt("--rows", opts.rows, 0);
    const spec = {
      features: sources.card.features,
      tokenMatch: sources.card.token_match,
      tokens: sources.card.tokens,
    };
    const n = await writeRowsCsv(
      resolve(opts.out),
      spec.features,
      simulateFeatureRows({
        marginals: sources.marginals,
        tokens: sources.tokens,
        spec,
        seed,
        rows,
        exploitRows: positiveInt("--exploit-rows", opts.exploitRows, 0),
      }),
    );
    process.stdout.write(
      `${JSON.stringify({ rows: n, out: resolve(opts.out), seed, marginals: sources.marginalsFrom })}\n`,
    );
    return;
  }

  const sim = createSimulator({
    rpcUrl: rt.config.chain.rpcHttpUrl,
    rpcTimeoutMs: rt.config.chain.rpcTimeoutMs,
    marginals: sources.marginals,
    tokens: sources.tokens,
    seed,
    rate: c.rate,
    exploitsPerMinute: c.exploitsPerMinute,
    accounts: c.accounts,
    maxAgeMinutes: c.maxAgeYears * 525_960,
    maxPending: c.maxPending,
    ...(c.exploitsLog ? { exploitsLog: resolve(c.exploitsLog) } : {}),
    ...(opts.shiftMix
      ? { shift: { afterMs: shiftAtS * 1000, mix: parseMixShift(opts.shiftMix, sources.tokens) } }
      : {}),
    logger: rt.logger,
  });
  rt.shutdown.register("simulator", () => sim.close());
  const setup = await sim.setup();
  rt.logger.info({
    msg: "Tokens deployed",
    batcher: setup.batcher,
    tokens: Object.fromEntries(setup.tokens.map((t) => [t.symbol, `${t.address} (${t.decimals} decimals)`])),
  });
  const stats = await sim.run({
    signal: stop.signal,
    ...(durationS > 0 ? { durationMs: durationS * 1000 } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ seed, ...stats, exploits: sim.exploits().map((e) => ({ hash: e.hash, template: e.template })) })}\n`,
  );
  await rt.shutdown.close("simulation finished");
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}
