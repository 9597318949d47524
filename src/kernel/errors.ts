/**
 * Error hierarchy. The root splits retryable from non-retryable so that callers decide
 * "retry" vs "dead-letter / stop" with `err.retryable` (or `instanceof RetryableError`)
 * instead of parsing messages. Every error has a stable `code` (ATT_…), used in logs,
 * metrics labels, DLQ records and INVALID findings.
 *
 * Messages follow viem's layout: a short message, then context lines ("Got: …",
 * "Expected: …", "Fix: …"), then the cause.
 */

export interface AttErrorOptions {
  cause?: unknown;
  /** Context lines printed under the short message, e.g. ["Got: -1 (number)", "Expected: …"]. */
  details?: string[];
}

export abstract class AttError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  readonly shortMessage: string;
  readonly details: string[];

  constructor(shortMessage: string, opts: AttErrorOptions = {}) {
    const lines = [shortMessage, ...(opts.details ?? []).map((d) => `  ${d}`)];
    if (opts.cause instanceof Error && opts.cause.message) lines.push(`  Cause: ${opts.cause.message}`);
    super(lines.join("\n"), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.shortMessage = shortMessage;
    this.details = opts.details ?? [];
    this.name = new.target.name;
  }
}

/** Transient: the same operation may succeed later (network, timeouts, rate limits, rebalances). */
export abstract class RetryableError extends AttError {
  readonly retryable = true as const;
}

/** Permanent: retrying cannot help (bad input, bad configuration, a model we refuse to load). */
export abstract class NonRetryableError extends AttError {
  readonly retryable = false as const;
}

export class ConfigError extends NonRetryableError {
  readonly code = "ATT_CONFIG_INVALID";
}

export class ValidationError extends NonRetryableError {
  readonly code: string;
  /** Dotted path of the offending field, e.g. `transfers[2].value`. */
  readonly path: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code?: string; path?: string } = {}) {
    super(shortMessage, opts);
    this.code = opts.code ?? "ATT_INVALID_MESSAGE";
    this.path = opts.path ?? "";
  }
}

export class ModelError extends NonRetryableError {
  readonly code: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code?: string } = {}) {
    super(shortMessage, opts);
    this.code = opts.code ?? "ATT_MODEL_INVALID";
  }
}

export class TimeoutError extends RetryableError {
  readonly code = "ATT_TIMEOUT";
}

/** A remote API or node answered with an error that may clear up (5xx, connection reset…). */
export class UpstreamError extends RetryableError {
  readonly code: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code?: string } = {}) {
    super(shortMessage, opts);
    this.code = opts.code ?? "ATT_UPSTREAM_UNAVAILABLE";
  }
}

/**
 * Our own infrastructure (Redis; `dependency` names it) did not answer. Never a verdict: the
 * score stage pauses, probes the dependency until it answers, and processes the same input
 * again (src/score/pause.ts). INVALID findings are for data a provider could not give.
 */
export class InfrastructureError extends RetryableError {
  readonly code: string;
  readonly dependency: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code?: string; dependency: string }) {
    super(shortMessage, opts);
    this.code = opts.code ?? "ATT_INFRA_UNAVAILABLE";
    this.dependency = opts.dependency;
  }
}

/** The provider said "slow down"; `retryAfterMs` is how long the whole queue should pause. */
export class RateLimitedError extends RetryableError {
  readonly code = "ATT_RATE_LIMITED";
  readonly retryAfterMs: number;
  constructor(shortMessage: string, opts: AttErrorOptions & { retryAfterMs?: number } = {}) {
    super(shortMessage, opts);
    this.retryAfterMs = opts.retryAfterMs ?? 1000;
  }
}

/** A remote API answered definitively that it cannot serve this request (bad key, not a token…). */
export class PermanentUpstreamError extends NonRetryableError {
  readonly code: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code?: string } = {}) {
    super(shortMessage, opts);
    this.code = opts.code ?? "ATT_UPSTREAM_REJECTED";
  }
}

export class ShutdownError extends NonRetryableError {
  readonly code = "ATT_SHUTTING_DOWN";
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AttError ? err.retryable : false;
}

export function errorCode(err: unknown): string {
  return err instanceof AttError ? err.code : "ATT_INTERNAL";
}

/** Exit codes (sysexits): 75 = temporary failure (a supervisor should restart), 1 = user error. */
export function exitCodeFor(err: unknown): number {
  return isRetryable(err) ? 75 : 1;
}
