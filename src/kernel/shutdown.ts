import type { Logger } from "./logger.js";

export interface Shutdown {
  /** Aborted when shutdown starts; pass it into waits, retries and loops. */
  readonly signal: AbortSignal;
  /** Registers a teardown; teardowns run in reverse registration order (last started, first stopped). */
  register(name: string, fn: () => Promise<void> | void): void;
  /** Runs every teardown once, each guarded; later calls return the same promise. */
  close(reason?: string): Promise<void>;
  /** SIGINT/SIGTERM start `close`; a second signal or the grace timer forces exit. */
  installSignalHandlers(opts?: { exit?: boolean }): void;
}

/**
 * One shutdown registry per process, around an AbortController (Ponder's
 * `internal/shutdown.ts`). Components register their own teardown where they are created.
 */
export function createShutdown(opts: { logger: Logger; graceMs: number }): Shutdown {
  const controller = new AbortController();
  const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
  let closing: Promise<void> | undefined;

  const close = (reason = "shutdown requested"): Promise<void> => {
    if (closing) return closing;
    opts.logger.info({ msg: "Shutting down", reason });
    controller.abort(new Error(reason));
    closing = (async () => {
      for (const { name, fn } of [...cleanups].reverse()) {
        try {
          await fn();
        } catch (err) {
          opts.logger.error({ msg: "Cleanup failed", component: name, err });
        }
      }
      opts.logger.info({ msg: "Shutdown complete" });
    })();
    return closing;
  };

  return {
    signal: controller.signal,
    register(name, fn) {
      cleanups.push({ name, fn });
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
