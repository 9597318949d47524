import { InfrastructureError } from "../kernel/errors.js";
import type { Logger } from "../kernel/logger.js";
import type { ScoreMetrics } from "./metrics.js";

/** A dependency of our own that the stage can ask "are you back?" (e.g. Redis PING). */
export interface DependencyProbe {
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) while it does not. */
  check(): Promise<void>;
}

/** What a waiting batch does between probes, and whether it should keep waiting at all. */
export interface WaitContext {
  /** Keeps the group membership alive during the pause (kafkajs's eachBatch heartbeat). */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the batch went stale (a rebalance took the partition). */
  active(): boolean;
}

export interface PauseGate {
  /**
   * Waits until the dependency `err` names answers a probe again; true then (the caller
   * processes the same input again), false if `ctx.active()` turned false first.
   */
  waitFor(err: InfrastructureError, ctx: WaitContext): Promise<boolean>;
  /** True while any dependency is being waited for (readiness is false meanwhile). */
  readonly paused: boolean;
}

const FIRST_PROBE_MS = 250;
const MAX_PROBE_MS = 5000;
const PROBE_TIMEOUT_MS = 2000;

/**
 * An outage of our own infrastructure pauses the stage; it never becomes a verdict. The first
 * batch that meets it logs one warn line and sets `att_score_paused{dependency}` to 1; every
 * waiting batch probes (250 ms, doubling to 5 s) while heartbeating, so the group keeps its
 * partitions; when the dependency answers, one info line says how long it lasted and each
 * batch is processed again from the same input. Nothing is committed during the pause.
 */
export function createPauseGate(opts: {
  probes: DependencyProbe[];
  logger: Logger;
  metrics: Pick<ScoreMetrics, "paused" | "pauses">;
}): PauseGate {
  const byName = new Map(opts.probes.map((p) => [p.name, p]));
  const open = new Map<string, { since: number }>();

  async function probe(p: DependencyProbe): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        p.check(),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error("probe timed out")), PROBE_TIMEOUT_MS)),
        ),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    get paused() {
      return open.size > 0;
    },
    async waitFor(err, ctx) {
      const p = byName.get(err.dependency);
      if (!p) throw err; // Nothing to probe: the caller's ordinary retry handles it.
      if (!open.has(p.name)) {
        open.set(p.name, { since: Date.now() });
        opts.metrics.paused.set({ dependency: p.name }, 1);
        opts.metrics.pauses.inc({ dependency: p.name });
        opts.logger.warn({
          msg: "Scoring paused: a dependency does not answer",
          dependency: p.name,
          code: err.code,
          reason: err.shortMessage,
        });
      }
      let delay = FIRST_PROBE_MS;
      for (;;) {
        await new Promise((r) => setTimeout(r, delay));
        if (!ctx.active()) return false;
        await ctx.heartbeat();
        if (await probe(p)) break;
        delay = Math.min(delay * 2, MAX_PROBE_MS);
      }
      const state = open.get(p.name);
      if (state) {
        open.delete(p.name);
        opts.metrics.paused.set({ dependency: p.name }, 0);
        opts.logger.info({
          msg: "Scoring resumed: the dependency answers again",
          dependency: p.name,
          paused_sec: (Date.now() - state.since) / 1000,
        });
      }
      return true;
    },
  };
}

/** The InfrastructureError behind `err` (as thrown, or as the cause kafkajs or a wrapper kept), if any. */
export function infrastructureCause(err: unknown): InfrastructureError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof InfrastructureError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
