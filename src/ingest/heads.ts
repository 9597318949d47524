import type { BlockHeader } from "./types.js";
import type { WsConnection } from "../rpc/ws.js";

/**
 * New heads as a trigger only (docs/ingest.md): a `newHeads` notification wakes the ingester, which
 * then asks the node for the head itself and reconciles by parentHash. When the socket is down
 * the wait falls back to a poll timer; with the socket up a slower timer still fires, so that a
 * lost notification cannot stall ingest.
 */
export interface HeadTrigger {
  /** Resolves at the next head notification or timer tick; rejects when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void>;
  /** Wakes a current or the next `wait` (e.g. the socket came back). */
  wake(): void;
  close(): void;
}

export function createHeadTrigger(opts: {
  ws: WsConnection | undefined;
  pollIntervalMs: number;
  headRecheckMs: number;
  /** Every header the node pushed (used to notice reorgs of unconfirmed blocks). */
  onHead?: (head: BlockHeader) => void;
}): HeadTrigger {
  let pendingWake = false;
  let waiter: (() => void) | undefined;
  const wake = () => {
    if (waiter) waiter();
    else pendingWake = true;
  };
  const unsubscribe = opts.ws?.subscribe(["newHeads"], (result) => {
    const h = result as { number?: string; hash?: string; parentHash?: string; timestamp?: string };
    if (h.number && h.hash && h.parentHash) {
      opts.onHead?.({
        number: Number(h.number),
        hash: h.hash.toLowerCase(),
        parentHash: h.parentHash.toLowerCase(),
        timestamp: Number(h.timestamp ?? 0),
      });
    }
    wake();
  });

  return {
    wait(signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (pendingWake) {
        pendingWake = false;
        return Promise.resolve();
      }
      const ms = opts.ws?.state === "open" ? opts.headRecheckMs : opts.pollIntervalMs;
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          waiter = undefined;
          resolve();
        };
        const onAbort = () => {
          clearTimeout(timer);
          waiter = undefined;
          reject(signal.reason);
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", onAbort, { once: true });
        waiter = done;
      });
    },
    wake,
    close() {
      unsubscribe?.();
    },
  };
}
