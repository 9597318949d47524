/**
 * Fetches a range of blocks with bounded concurrency and hands them out strictly in order.
 * At most `maxInFlight` blocks are fetched-or-fetching ahead of the consumer, so memory stays
 * bounded however far behind we are (Ponder caps catch-up work the same way).
 */
export interface OrderedFetcher<T> extends AsyncIterable<T> {
  /** True when the next block in order is already fetched (the consumer may batch it). */
  hasReady(): boolean;
  /** Aborts the fetches still running; idempotent. */
  close(): void;
}

interface Slot<T> {
  promise: Promise<T>;
  ok: boolean;
}

export function createOrderedFetcher<T>(opts: {
  from: number;
  to: number;
  concurrency: number;
  maxInFlight: number;
  fetch: (n: number, signal: AbortSignal) => Promise<T>;
  signal: AbortSignal;
}): OrderedFetcher<T> {
  const controller = new AbortController();
  const signal = AbortSignal.any([opts.signal, controller.signal]);
  const slots = new Map<number, Slot<T>>();
  const window = Math.max(1, opts.maxInFlight);
  let nextStart = opts.from;
  let nextYield = opts.from;
  let running = 0;
  /** The block handed to the consumer and not yet done with counts against the cap too. */
  let held = 0;

  const pump = () => {
    while (
      !signal.aborted &&
      nextStart <= opts.to &&
      running < opts.concurrency &&
      nextStart - nextYield + held < window
    ) {
      const n = nextStart++;
      running += 1;
      const slot: Slot<T> = { ok: false, promise: undefined as unknown as Promise<T> };
      slot.promise = opts.fetch(n, signal).then((v) => {
        slot.ok = true;
        return v;
      });
      slot.promise
        .catch(() => undefined)
        .finally(() => {
          running -= 1;
          pump();
        });
      slots.set(n, slot);
    }
  };

  return {
    hasReady: () => slots.get(nextYield)?.ok === true,
    close: () => controller.abort(new Error("fetcher closed")),
    async *[Symbol.asyncIterator]() {
      try {
        pump();
        while (nextYield <= opts.to) {
          const slot = slots.get(nextYield);
          if (!slot) throw signal.reason ?? new Error("fetcher stopped");
          const value = await slot.promise;
          slots.delete(nextYield);
          nextYield += 1;
          held = 1;
          yield value;
          held = 0;
          pump();
        }
      } finally {
        controller.abort(new Error("fetcher closed"));
      }
    },
  };
}
