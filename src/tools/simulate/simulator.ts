import type { Logger } from "../../kernel/logger.js";
import { poolAges, randomAddress, type SimAccount } from "./accounts.js";
import { DEFAULT_EXPLOIT_TEMPLATES, exploitAge, exploitPlan, templatesByName } from "./exploits.js";
import { createTrafficGenerator, type TxPlan } from "./generator.js";
import type { Marginals } from "./marginals.js";
import { applyMixShift, type MixShift } from "./mix-shift.js";
import { createRandom } from "./random.js";
import { createExploitRecorder } from "./recorder.js";
import { createRpcClient } from "../../rpc/client.js";
import { createTrafficSender, type SenderStats, type SentTx } from "./sender.js";
import { prepareChain, type ChainSetup } from "./setup.js";
import type { TokenSpec } from "./tokens.js";

export interface SimulatorOptions {
  rpcUrl: string;
  marginals: Marginals;
  tokens: readonly TokenSpec[];
  seed: number;
  /** Normal transactions per second. */
  rate: number;
  exploitsPerMinute: number;
  /** Established accounts (back-dated first transactions). */
  accounts: number;
  /** Cap on sampled ages, minutes. */
  maxAgeMinutes: number;
  maxPending: number;
  exploitTemplates?: readonly string[];
  /** JSONL file for the injected exploits. */
  exploitsLog?: string;
  logger: Logger;
  onSent?: (tx: SentTx) => void;
  rpcTimeoutMs?: number;
  /** From `afterMs` into run() on, normal traffic follows `mix` (mix-shift.ts). */
  shift?: { afterMs: number; mix: MixShift };
}

export interface Simulator {
  readonly seed: number;
  /** Deploys the tokens and back-dates the accounts' first transactions; call once before run. */
  setup(): Promise<ChainSetup>;
  /** Sends traffic until the signal aborts or the duration passes. */
  run(opts: { signal?: AbortSignal; durationMs?: number }): Promise<SenderStats>;
  stats(): SenderStats;
  /** Exploit transactions injected so far. */
  exploits(): readonly SentTx[];
  /** Wall time (ms) of the first transaction planned in the shifted mix, once there is one. */
  shiftedAt(): number | undefined;
  close(): Promise<void>;
}

/**
 * The traffic simulator: normal transactions drawn from the training marginals (see
 * generator.ts) and exploit-like ones from known exploit shapes (exploits.ts), sent to anvil.
 *
 * @example
 *   const sim = createSimulator({ rpcUrl, marginals, tokens, seed: 1, rate: 20, exploitsPerMinute: 12, … });
 *   await sim.setup();
 *   await sim.run({ durationMs: 60_000 });
 *   console.log(sim.exploits().map((e) => e.hash));
 */
export function createSimulator(opts: SimulatorOptions): Simulator {
  const rpc = createRpcClient(opts.rpcUrl, {
    timeoutMs: opts.rpcTimeoutMs ?? 30_000,
    fix: "Fix: start the node (deploy/local/stack.sh start anvil), or point --rpc (ATT_RPC_HTTP_URL) at one that runs",
  });
  const rng = createRandom(opts.seed);
  const generator = createTrafficGenerator({
    marginals: opts.marginals,
    tokens: opts.tokens,
    seed: opts.seed + 1,
  });
  const templates = templatesByName(opts.exploitTemplates ?? DEFAULT_EXPLOIT_TEMPLATES);
  const tokensBySymbol = new Map(opts.tokens.map((t) => [t.symbol, t]));
  const recorder = createExploitRecorder(opts.exploitsLog);
  const ageMarginal =
    opts.marginals.features["account_active_period_in_minutes"] ??
    opts.marginals.features["account_age_in_minutes"];
  if (!ageMarginal) throw new RangeError("marginals lack account_active_period_in_minutes");

  const established: SimAccount[] = poolAges(ageMarginal, opts.accounts, opts.maxAgeMinutes).map((age) => ({
    address: randomAddress(rng),
    plannedAgeMinutes: age,
    nonce: 0,
  }));
  // Pre-aged exploit senders, about as young as their template's, enough for five minutes;
  // templates younger than a minute (and exploits beyond those) get brand-new senders.
  const perTemplate = Math.min(50, Math.ceil((opts.exploitsPerMinute * 5) / Math.max(1, templates.length)));
  const exploitAccounts = new Map<string, SimAccount[]>();
  for (const t of templates) {
    if (exploitAge(rng, t) === 0 || opts.exploitsPerMinute === 0) continue;
    exploitAccounts.set(
      t.name,
      Array.from({ length: perTemplate }, () => ({
        address: randomAddress(rng),
        plannedAgeMinutes: exploitAge(rng, t),
        nonce: 0,
      })),
    );
  }
  const deployer = randomAddress(rng);
  let setup: ChainSetup | undefined;
  let sender: ReturnType<typeof createTrafficSender> | undefined;

  let runStartedAt: number | undefined;
  let shiftedAt: number | undefined;
  const shiftRng = createRandom(opts.seed + 2);
  const shifting = () => {
    if (!opts.shift || runStartedAt === undefined) return false;
    if (shiftedAt !== undefined) return true;
    if (Date.now() - runStartedAt < opts.shift.afterMs) return false;
    shiftedAt = Date.now();
    opts.logger.info({ msg: "Traffic mix shifted", mix: opts.shift.mix.tokens });
    return true;
  };
  const plans = {
    normal: (): TxPlan =>
      shifting()
        ? applyMixShift(generator.next(), opts.shift!.mix, shiftRng, tokensBySymbol)
        : generator.next(),
    exploit: (): TxPlan => exploitPlan(rng, rng.pick(templates), tokensBySymbol),
  };

  return {
    seed: opts.seed,
    async setup() {
      if (setup) return setup;
      setup = await prepareChain({
        rpc,
        tokens: opts.tokens,
        accounts: [...established, ...[...exploitAccounts.values()].flat()],
        deployer,
        logger: opts.logger,
      });
      sender = createTrafficSender({
        rpc,
        setup,
        plans,
        rng,
        rate: opts.rate,
        exploitsPerMinute: opts.exploitsPerMinute,
        exploitAccounts,
        maxPending: opts.maxPending,
        logger: opts.logger,
        onSent: (tx) => {
          if (tx.kind === "exploit") recorder.record(tx);
          opts.onSent?.(tx);
        },
      });
      return setup;
    },
    async run(runOpts) {
      if (!sender) throw new Error("Simulator.run() before setup()");
      runStartedAt ??= Date.now();
      return sender.run(runOpts);
    },
    stats: () =>
      sender?.stats() ?? {
        sent: 0,
        byKind: { single: 0, swap: 0, batch: 0, exploit: 0 },
        rejected: 0,
        pausedMs: 0,
      },
    exploits: () => recorder.list(),
    shiftedAt: () => shiftedAt,
    close: () => recorder.close(),
  };
}
