import { isRetryable, RateLimitedError } from "../kernel/errors.js";
import { sleep } from "../kernel/shutdown.js";

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
  retries: number;
  baseMs: number;
  maxMs: number;
  signal?: AbortSignal;
  /** Default: the error's own `retryable` flag (kernel error hierarchy). */
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` and retries it `retries` times on retryable errors, waiting with backoff (abortable). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || !shouldRetry(err) || opts.signal?.aborted) throw err;
      const delay = Math.max(
        backoffDelay(attempt, opts.baseMs, opts.maxMs),
        err instanceof RateLimitedError ? err.retryAfterMs : 0,
      );
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}
