import { scrubSecrets, urlSecrets } from "../kernel/logger.js";
import { statusError, transportError, type FailureContext } from "./classify.js";
import { badAnswer } from "./errors.js";

/** An answer: HTTP status, the parsed JSON body and its raw text (for error messages). */
export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
}

export interface RequestJsonOptions extends Omit<FailureContext, "shownUrl"> {
  timeoutMs: number;
  signal?: AbortSignal;
  method?: "GET" | "POST";
  /** Sent as JSON. */
  body?: unknown;
  /** What the server should have sent, for a non-JSON answer's error. */
  expected: string;
}

/**
 * One HTTP request with a JSON answer — the transport of the JSON-RPC client and of the HTTP
 * APIs (Etherscan, Ethplorer). A timeout on every request, abortable by the caller (then the
 * caller's reason is thrown). Network failures, timeouts, 5xx and 429 become retryable errors
 * (classify.ts) whose messages never carry an API key (the URL is scrubbed). Any other answer
 * whose body is not JSON (an HTML error page of a proxy or CDN, an empty body) is a
 * BadAnswerError: every server we call documents JSON answers only.
 */
export async function requestJson(url: string, opts: RequestJsonOptions): Promise<HttpAnswer> {
  const ctx: FailureContext = { ...opts, shownUrl: scrubSecrets(url) };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: opts.method ?? "GET",
      headers: opts.body === undefined ? {} : { "content-type": "application/json" },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
    });
    // Inside the try: a body cut off mid-way (reset, timeout) is a transport failure, not an answer.
    text = await res.text();
  } catch (err) {
    throw transportError(err, {
      ...ctx,
      timeoutMs: opts.timeoutMs,
      timedOut: timeout.aborted,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  const refused = statusError(
    res.status,
    res.headers.get("retry-after"),
    scrubSecrets(text, urlSecrets(url)),
    ctx,
  );
  if (refused) throw refused;
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
