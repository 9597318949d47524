import { RateLimitedError, TimeoutError, UpstreamError } from "../kernel/errors.js";
import { scrubSecrets } from "../kernel/logger.js";

/**
 * The one code for "the provider answered in a shape we do not know" (wrong type, missing
 * field, unexpected structure, a body that is not JSON, an HTML error page), for every
 * enrichment provider (issue 13). Such an answer is never read as "not found" and never cached:
 * it is retried like any transient failure, and after the last attempt the lookup fails with it.
 */
export const BAD_ANSWER_CODE = "ATT_PROVIDER_BAD_ANSWER";

/** How much of a received answer an error message shows. */
const SHOWN_CHARS = 200;

/** A provider answer in a shape we do not know. Retryable; see BAD_ANSWER_CODE. */
export class BadAnswerError extends UpstreamError {
  constructor(shortMessage: string, opts: { got: string; expected: string; url?: string }) {
    super(shortMessage, {
      code: BAD_ANSWER_CODE,
      details: [...(opts.url ? [`URL: ${opts.url}`] : []), `Got: ${opts.got}`, `Expected: ${opts.expected}`],
    });
  }
}

/**
 * A BadAnswerError for `what` (e.g. "Etherscan txlist"). `got` is the raw body text or a parsed
 * value; it is shown with the request's secrets (query keys, URL password) and any API key
 * pattern removed, then truncated — scrubbed first, so a key cut in half cannot slip through.
 */
export function badAnswer(
  what: string,
  opts: { url: string; got: unknown; expected: string; status?: number },
): BadAnswerError {
  const raw = typeof opts.got === "string" ? opts.got : (JSON.stringify(opts.got) ?? String(opts.got));
  const scrubbed = scrubSecrets(raw, urlSecrets(opts.url)).replace(/\s+/g, " ").trim();
  const shown = scrubbed.length > SHOWN_CHARS ? `${scrubbed.slice(0, SHOWN_CHARS)}…` : scrubbed;
  const prefix = opts.status === undefined ? "" : `HTTP ${opts.status}, `;
  return new BadAnswerError(`${what} answered in a shape we do not know`, {
    url: scrubSecrets(opts.url),
    got: `${prefix}${shown === "" ? "an empty body" : shown}`,
    expected: opts.expected,
  });
}

/** A JSON object (not an array, not null): what every provider answer we read is at its root. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Values in a URL that must never be shown: key-like query parameters and the URL's password. */
function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [...u.searchParams]
      .filter(([k, v]) => /^(api_?key|key|token)$/i.test(k) && v.length > 0)
      .map(([, v]) => v);
    if (u.password) out.push(decodeURIComponent(u.password));
    return out;
  } catch {
    return [];
  }
}

/** A provider answer: HTTP status, the parsed JSON body and its raw text (for error messages). */
export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
}

/**
 * One HTTP request with a timeout, abortable. Network failures, timeouts, 5xx and 429 become
 * retryable errors whose messages never carry the API key (the URL is scrubbed). Any other
 * answer whose body is not JSON (an HTML error page of a proxy or CDN, an empty body) is a
 * BadAnswerError: every provider we call documents JSON answers only.
 */
export async function requestJson(
  url: string,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    method?: "GET" | "POST";
    body?: unknown;
    rateLimitPauseMs: number;
    /** Names the provider and what it should have sent, for a non-JSON answer's error. */
    what: string;
    expected: string;
  },
): Promise<HttpAnswer> {
  const shown = scrubSecrets(url);
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: opts.method ?? "GET",
      headers: opts.body === undefined ? {} : { "content-type": "application/json" },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.any(signals),
    });
    // Inside the try: a body cut off mid-way (reset, timeout) is a transport failure, not an answer.
    text = await res.text();
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
  if (res.status === 429) {
    const retryAfter = Number(res.headers.get("retry-after"));
    throw new RateLimitedError("Provider answered HTTP 429 Too Many Requests", {
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : opts.rateLimitPauseMs,
      details: [`URL: ${shown}`],
    });
  }
  if (res.status >= 500) {
    throw new UpstreamError(`Provider answered HTTP ${res.status}`, {
      details: [`URL: ${shown}`, `Body: ${scrubSecrets(text, urlSecrets(url)).slice(0, 200)}`],
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badAnswer(opts.what, {
      url,
      status: res.status,
      got: text,
      expected: `a JSON body: ${opts.expected}`,
    });
  }
  return { status: res.status, body, text };
}

function errMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
