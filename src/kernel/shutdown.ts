import type { Logger } from "./logger.js";

export interface Shutdown {
  /** Aborted when shutdown starts; pass it into waits, retries and loops. */
  readonly signal: AbortSignal;
  /**
   * Registers a teardown where its resource is created; teardowns run in reverse registration
   * order (last started, first stopped). Once shutdown has begun there is nothing to wait for:
   * the teardown runs at once, and `close` does not resolve before it has finished.
   */
  register(name: string, fn: () => Promise<void> | void): void;
  /** Runs every teardown once, each guarded; later calls return the same promise. */
  close(reason?: string): Promise<void>;
  /** SIGINT/SIGTERM start `close`; a second signal or the grace timer forces exit. */
  installSignalHandlers(opts?: { exit?: boolean }): void;
}

/**
 * One shutdown registry per process, around an AbortController (Ponder's
 * `internal/shutdown.ts`). Components register their own teardown where they are created, so a
 * start-up that fails half-way leaves nothing open once the registry is closed.
 *
 * @example
 *   const redis = createRedis(url);
 *   shutdown.register("redis", () => redis.quit());
 */
export function createShutdown(opts: { logger: Logger; graceMs: number }): Shutdown {
  const controller = new AbortController();
  const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
  // Teardowns registered after shutdown began: already running, awaited before "Shutdown complete".
  const late: Promise<void>[] = [];
  let closing: Promise<void> | undefined;

  const run = async (name: string, fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      opts.logger.error({ msg: "Cleanup failed", component: name, err });
    }
  };

  const close = (reason = "shutdown requested"): Promise<void> => {
    if (closing) return closing;
    opts.logger.info({ msg: "Shutting down", reason });
    controller.abort(new Error(reason));
    closing = (async () => {
      for (const { name, fn } of [...cleanups].reverse()) await run(name, fn);
      while (late.length > 0) await late.shift();
      opts.logger.info({ msg: "Shutdown complete" });
    })();
    return closing;
  };

  return {
    signal: controller.signal,
    register(name, fn) {
      if (controller.signal.aborted) late.push(run(name, fn));
      else cleanups.push({ name, fn });
    },
    close,
    installSignalHandlers({ exit = true } = {}) {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          opts.logger.warn({ msg: "Second signal, exiting now", signal: sig });
          process.exit(130);
        }
        // Not unref'd: a teardown stuck on a promise that no handle will ever settle would
        // otherwise let the event loop drain and the process exit 0 as if shutdown had completed.
        const timer = setTimeout(() => {
          opts.logger.error({ msg: "Shutdown grace period exceeded, exiting", grace_ms: opts.graceMs });
          process.exit(1);
        }, opts.graceMs);
        void close(`received ${sig}`).then(() => {
          clearTimeout(timer);
          if (exit) process.exit(0);
        });
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    },
  };
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
