import { RateLimitedError, TimeoutError, UpstreamError } from "../kernel/errors.js";
import { scrubSecrets } from "../kernel/logger.js";

/** A provider answer: HTTP status and the parsed JSON body (undefined when not JSON). */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * One HTTP request with a timeout, abortable. Network failures, timeouts, 5xx and 429 become
 * retryable errors whose messages never carry the API key (the URL is scrubbed).
 */
export async function requestJson(
  url: string,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    method?: "GET" | "POST";
    body?: unknown;
    rateLimitPauseMs: number;
  },
): Promise<HttpAnswer> {
  const shown = scrubSecrets(url);
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? "GET",
      headers: opts.body === undefined ? {} : { "content-type": "application/json" },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    if (
      err instanceof Error &&
      (err.name === "TimeoutError" || err.name === "AbortError") &&
      !opts.signal?.aborted
    ) {
      throw new TimeoutError(`Request timed out after ${opts.timeoutMs} ms`, { details: [`URL: ${shown}`] });
    }
    throw new UpstreamError("Request failed", {
      details: [`URL: ${shown}`, `Cause: ${scrubSecrets(errMessage(err))}`],
    });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get("retry-after"));
    throw new RateLimitedError("Provider answered HTTP 429 Too Many Requests", {
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : opts.rateLimitPauseMs,
      details: [`URL: ${shown}`],
    });
  }
  if (res.status >= 500) {
    throw new UpstreamError(`Provider answered HTTP ${res.status}`, {
      details: [`URL: ${shown}`, `Body: ${scrubSecrets(text.slice(0, 200))}`],
    });
  }
  return { status: res.status, body };
}

function errMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
