import { describe, expect, it } from "vitest";
import { createOrderedFetcher } from "../src/ingest/backfill.js";
import { backoffDelay } from "../src/ingest/retry.js";

describe("the ordered backfill fetcher", () => {
  it("hands out blocks strictly in order while fetching in parallel, within the concurrency and in-flight caps", async () => {
    let running = 0;
    let maxRunning = 0;
    let started = 0;
    let consumed = 0;
    let maxAhead = 0;
    const fetcher = createOrderedFetcher({
      from: 10,
      to: 209,
      concurrency: 4,
      maxInFlight: 12,
      signal: new AbortController().signal,
      fetch: async (n) => {
        running += 1;
        started += 1;
        maxRunning = Math.max(maxRunning, running);
        maxAhead = Math.max(maxAhead, started - consumed);
        // Later blocks often finish first: the fetcher must still yield in order.
        await new Promise((r) => setTimeout(r, (n * 7919) % 5));
        running -= 1;
        return n;
      },
    });
    const got: number[] = [];
    for await (const n of fetcher) {
      got.push(n);
      consumed += 1;
      if (n % 50 === 0) await new Promise((r) => setTimeout(r, 20)); // a slow publisher
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i + 10));
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect(maxAhead).toBeLessThanOrEqual(12);
  });

  it("stops at the block that failed, after every earlier one, so that nothing is skipped", async () => {
    const fetcher = createOrderedFetcher({
      from: 0,
      to: 50,
      concurrency: 8,
      maxInFlight: 16,
      signal: new AbortController().signal,
      fetch: async (n) => {
        if (n === 7) throw new Error("node down");
        return n;
      },
    });
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of fetcher) got.push(n);
      })(),
    ).rejects.toThrow("node down");
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("backs off exponentially with jitter, capped", () => {
    const low = () => 0;
    const high = () => 1;
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 100, 1_000, low))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(10, 100, 1_000, high)).toBe(1_000);
    expect(backoffDelay(10, 100, 1_000, low)).toBe(500);
  });
});
