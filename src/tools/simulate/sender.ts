import type { Logger } from "../../kernel/logger.js";
import { sleep } from "../../kernel/shutdown.js";
import { createAgeIndex, FRESH_AGE_MINUTES, randomAddress, type SimAccount } from "./accounts.js";
import { GAS, mintData, mintManyData, toRaw } from "./contracts.js";
import type { TxKind, TxPlan } from "./generator.js";
import type { Random } from "./random.js";
import type { HttpRpcClient as RpcClient } from "../../rpc/client.js";
import { toHex } from "../../rpc/hex.js";
import { FEES, setBalances, type ChainSetup, type DeployedToken } from "./setup.js";

/** One transaction the simulator sent (accepted by the node; mined shortly after). */
export interface SentTx {
  hash: string;
  kind: TxKind;
  template?: string;
  sender: string;
  /** Age of the sender the plan asked for (minutes; 0 = first transaction). */
  plannedAgeMinutes: number;
  transfers: number;
  tokens: string[];
  /** Wall clock (ms) when the node accepted it. */
  sentAt: number;
}

export interface SenderStats {
  sent: number;
  byKind: Record<TxKind, number>;
  rejected: number;
  pausedMs: number;
}

export interface PlanSource {
  normal(): TxPlan;
  exploit(): TxPlan;
}

/**
 * Sends planned transactions at `rate` per second plus `exploitsPerMinute` exploits, evenly
 * spaced, as JSON-RPC batches of `eth_sendTransaction` from impersonated senders with locally
 * managed nonces and fixed gas limits (no estimation, no per-transaction wait). Pauses while
 * the node's pending pool holds more than `maxPending` transactions.
 */
export function createTrafficSender(opts: {
  rpc: RpcClient;
  setup: ChainSetup;
  plans: PlanSource;
  rng: Random;
  rate: number;
  exploitsPerMinute: number;
  /** Pre-aged accounts per exploit template, used once each; fresh accounts when none is left. */
  exploitAccounts: ReadonlyMap<string, SimAccount[]>;
  maxPending: number;
  logger: Logger;
  onSent?: (tx: SentTx) => void;
  tickMs?: number;
}) {
  const { rpc, rng, logger } = opts;
  const tickMs = opts.tickMs ?? 100;
  const reserved = new Set([...opts.exploitAccounts.values()].flat());
  const established = opts.setup.accounts.filter((a) => !reserved.has(a));
  const exploitQueues = new Map([...opts.exploitAccounts].map(([k, v]) => [k, [...v]]));
  const byAge = createAgeIndex(established);
  const tokenBySymbol = new Map<string, DeployedToken>(opts.setup.tokens.map((t) => [t.symbol, t]));
  const counterparties = Array.from({ length: 64 }, () => randomAddress(rng));
  const fresh: SimAccount[] = [];
  const stats: SenderStats = {
    sent: 0,
    byKind: { single: 0, swap: 0, batch: 0, exploit: 0 },
    rejected: 0,
    pausedMs: 0,
  };

  const refillFresh = async (need: number) => {
    if (fresh.length >= need) return;
    const more = Array.from({ length: Math.max(need - fresh.length, 200) }, () => ({
      address: randomAddress(rng),
      plannedAgeMinutes: 0,
      nonce: 0,
    }));
    await setBalances(
      rpc,
      more.map((a) => a.address),
    );
    fresh.push(...more);
  };

  const senderFor = (plan: TxPlan): SimAccount => {
    if (plan.kind === "exploit") {
      const aged = plan.template ? exploitQueues.get(plan.template)?.shift() : undefined;
      return aged ?? fresh.shift()!;
    }
    if (plan.ageMinutes < FRESH_AGE_MINUTES || established.length === 0) return fresh.shift()!;
    return byAge(plan.ageMinutes, rng);
  };

  const txFor = (plan: TxPlan, sender: SimAccount): Record<string, string> => {
    const parts = plan.transfers.map((t) => {
      const token = tokenBySymbol.get(t.token.symbol);
      if (!token) throw new RangeError(`token ${t.token.symbol} was not deployed`);
      return { token: token.address, raw: toRaw(t.amount, token.decimals) };
    });
    const base = { from: sender.address, nonce: toHex(sender.nonce), ...FEES };
    if (parts.length === 1) {
      return {
        ...base,
        to: parts[0]!.token,
        gas: toHex(GAS.mint),
        data: mintData(rng.pick(counterparties), parts[0]!.raw),
      };
    }
    // Swap-like: alternate between a pool and the sender; batches and exploits spread over counterparties.
    const pool = rng.pick(counterparties);
    const to = parts.map((_, i) =>
      plan.kind === "swap"
        ? i % 2 === 0
          ? pool
          : sender.address
        : rng.next() < 0.5
          ? sender.address
          : rng.pick(counterparties),
    );
    return {
      ...base,
      to: opts.setup.batcher,
      gas: toHex(GAS.mintManyBase + GAS.mintManyPerTransfer * parts.length),
      data: mintManyData(
        parts.map((p) => p.token),
        to,
        parts.map((p) => p.raw),
      ),
    };
  };

  const sendBatch = async (plans: TxPlan[]) => {
    await refillFresh(plans.length + 50);
    const prepared = plans.map((plan) => {
      const sender = senderFor(plan);
      const tx = txFor(plan, sender);
      sender.nonce += 1;
      return { plan, sender, tx };
    });
    const results = await rpc.batch(prepared.map((p) => ({ method: "eth_sendTransaction", params: [p.tx] })));
    const sentAt = Date.now();
    results.forEach((r, i) => {
      const { plan, sender } = prepared[i]!;
      if (!r.ok || typeof r.result !== "string") {
        stats.rejected += 1;
        sender.nonce -= 1; // the node did not take it
        logger.warn({
          msg: "Node rejected a simulated transaction",
          kind: plan.kind,
          sender: sender.address,
          err: r.ok ? String(r.result) : r.error.message,
          rpc_code: r.ok ? undefined : r.code,
        });
        return;
      }
      if (sender.firstTxAt === undefined) sender.firstTxAt = Math.floor(sentAt / 1000);
      stats.sent += 1;
      stats.byKind[plan.kind] += 1;
      opts.onSent?.({
        hash: r.result,
        kind: plan.kind,
        ...(plan.template ? { template: plan.template } : {}),
        sender: sender.address,
        plannedAgeMinutes: plan.kind === "exploit" ? sender.plannedAgeMinutes : plan.ageMinutes,
        transfers: plan.transfers.length,
        tokens: [...new Set(plan.transfers.map((t) => t.token.symbol))],
        sentAt,
      });
    });
  };

  const pendingCount = async (): Promise<number> => {
    const s = await rpc.call<{ pending: string }>("txpool_status");
    return Number(s.pending);
  };

  return {
    stats: (): SenderStats => ({ ...stats, byKind: { ...stats.byKind } }),
    /** Sends until `signal` aborts or `durationMs` passes; resolves with the totals. */
    async run(runOpts: { signal?: AbortSignal; durationMs?: number }): Promise<SenderStats> {
      const start = Date.now();
      const end = runOpts.durationMs ? start + runOpts.durationMs : Infinity;
      let active = 0; // ms of sending time (pauses excluded), the schedule's clock
      let last = start;
      let normalDue = 0;
      let exploitsDone = 0;
      let lastPendingCheck = 0;
      let paused = false;
      const spacingMs = opts.exploitsPerMinute > 0 ? 60_000 / opts.exploitsPerMinute : Infinity;
      while (!runOpts.signal?.aborted && Date.now() < end) {
        const t = Date.now();
        if (t - lastPendingCheck >= 1000) {
          lastPendingCheck = t;
          const pending = await pendingCount();
          if (pending > opts.maxPending !== paused) {
            paused = !paused;
            logger.warn({
              msg: paused ? "Node backlog: pausing the simulator" : "Node backlog cleared: resuming",
              pending,
            });
          }
        }
        if (paused) stats.pausedMs += t - last;
        else active += t - last;
        last = t;
        if (!paused) {
          const plans: TxPlan[] = [];
          const normalTarget = Math.floor((opts.rate * active) / 1000);
          // never burst more than two seconds' worth after a stall
          normalDue = Math.max(normalDue, normalTarget - Math.ceil(opts.rate * 2));
          while (normalDue < normalTarget) {
            plans.push(opts.plans.normal());
            normalDue += 1;
          }
          while ((exploitsDone + 0.5) * spacingMs <= active) {
            plans.push(opts.plans.exploit());
            exploitsDone += 1;
          }
          if (plans.length > 0) await sendBatch(plans);
        }
        try {
          await sleep(Math.max(0, tickMs - (Date.now() - t)), runOpts.signal);
        } catch {
          break;
        }
      }
      return this.stats();
    },
  };
}
