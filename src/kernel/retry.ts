import { isRetryable, RateLimitedError } from "./errors.js";
import { sleep } from "./shutdown.js";

/**
 * Exponential backoff with "equal jitter": half of the capped exponential delay is fixed, the
 * other half random, so that many clients that failed together do not retry together, and no
 * retry comes immediately.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

export interface RetryOptions {
  /** Retries after the first attempt (0 = one attempt). */
  retries: number;
  /** First backoff delay; it doubles per retry (with jitter, see `backoffDelay`) up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Aborting stops at once: a pending backoff wait rejects with the signal's reason, no retry follows. */
  signal?: AbortSignal;
  /** Default: the error's own `retryable` flag (kernel error hierarchy). `attempt` counts from 0. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each backoff wait; `attempt` is the retry about to come (1 = first retry). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * The one retry loop (viem's `withRetry`): runs `fn` and retries it up to `retries` times while
 * `shouldRetry` says so, waiting with backoff — never less than a RateLimitedError's
 * `retryAfterMs` (the server's Retry-After). The last error is thrown as it is.
 *
 * @example
 * const head = await withRetry(() => rpc.call<string>("eth_blockNumber", [], { signal }), {
 *   retries: 5, baseMs: 200, maxMs: 5_000, signal,
 * });
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || opts.signal?.aborted || !shouldRetry(err, attempt)) throw err;
      const delay = Math.max(
        backoffDelay(attempt, opts.baseMs, opts.maxMs),
        err instanceof RateLimitedError ? err.retryAfterMs : 0,
      );
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}
