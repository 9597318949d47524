import { describe, expect, it } from "vitest";
import { ConfigError, RateLimitedError, UpstreamError } from "../src/kernel/errors.js";
import { withRetry } from "../src/kernel/retry.js";

const flaky = (failures: unknown[], value = "ok") => {
  let calls = 0;
  const fn = async (attempt: number) => {
    expect(attempt).toBe(calls);
    calls += 1;
    if (failures.length > 0) throw failures.shift();
    return value;
  };
  return { fn, calls: () => calls };
};

describe("withRetry (kernel)", () => {
  it("retries retryable errors with a growing backoff and resolves with the first success", async () => {
    const f = flaky([new UpstreamError("1"), new UpstreamError("2")]);
    const seen: [number, number][] = [];
    const v = await withRetry(f.fn, {
      retries: 5,
      baseMs: 20,
      maxMs: 1000,
      onRetry: (_err, attempt, delay) => seen.push([attempt, delay]),
    });
    expect(v).toBe("ok");
    expect(f.calls()).toBe(3);
    expect(seen.map(([a]) => a)).toEqual([1, 2]);
    // Equal jitter: the k-th retry waits between half and all of base * 2^(k-1).
    expect(seen[0]![1]).toBeGreaterThanOrEqual(10);
    expect(seen[0]![1]).toBeLessThanOrEqual(20);
    expect(seen[1]![1]).toBeGreaterThanOrEqual(20);
    expect(seen[1]![1]).toBeLessThanOrEqual(40);
  });

  it("throws the last error once the retries are spent", async () => {
    const last = new UpstreamError("third");
    const f = flaky([new UpstreamError("first"), new UpstreamError("second"), last]);
    await expect(withRetry(f.fn, { retries: 2, baseMs: 1, maxMs: 1 })).rejects.toBe(last);
    expect(f.calls()).toBe(3);
  });

  it("does not retry when shouldRetry says no, nor a non-retryable error by default", async () => {
    const first = new UpstreamError("retryable, but not for this caller");
    const f = flaky([first]);
    const asked: [unknown, number][] = [];
    await expect(
      withRetry(f.fn, {
        retries: 5,
        baseMs: 1,
        maxMs: 1,
        shouldRetry: (err, attempt) => (asked.push([err, attempt]), false),
      }),
    ).rejects.toBe(first);
    expect(f.calls()).toBe(1);
    expect(asked).toEqual([[first, 0]]);

    const permanent = new ConfigError("bad");
    const g = flaky([permanent]);
    await expect(withRetry(g.fn, { retries: 5, baseMs: 1, maxMs: 1 })).rejects.toBe(permanent);
    expect(g.calls()).toBe(1);
  });

  it("waits at least a rate limit's Retry-After, however small the backoff", async () => {
    const f = flaky([new RateLimitedError("slow down", { retryAfterMs: 120 })]);
    const delays: number[] = [];
    const t0 = Date.now();
    await withRetry(f.fn, { retries: 1, baseMs: 1, maxMs: 1, onRetry: (_e, _a, d) => delays.push(d) });
    expect(delays).toEqual([120]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it("stops at once when the signal aborts during a backoff wait, with the signal's reason", async () => {
    const stop = new AbortController();
    const reason = new Error("shutdown");
    const f = flaky([new UpstreamError("1"), new UpstreamError("2")]);
    setTimeout(() => stop.abort(reason), 50);
    const t0 = Date.now();
    await expect(
      withRetry(f.fn, { retries: 5, baseMs: 10_000, maxMs: 10_000, signal: stop.signal }),
    ).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(f.calls()).toBe(1);
  });

  it("does not retry an attempt that failed after the signal aborted: its error is thrown", async () => {
    const stop = new AbortController();
    const err = new UpstreamError("cut short");
    let calls = 0;
    const fn = async () => {
      calls += 1;
      stop.abort(new Error("shutdown"));
      throw err;
    };
    await expect(withRetry(fn, { retries: 5, baseMs: 1, maxMs: 1, signal: stop.signal })).rejects.toBe(err);
    expect(calls).toBe(1);
  });
});
