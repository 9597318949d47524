import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createOrderedFetcher } from "../src/ingest/backfill.js";
import { createProgress } from "../src/ingest/progress.js";
import { createLogger, type Logger } from "../src/kernel/logger.js";
import { backoffDelay } from "../src/kernel/retry.js";

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

describe("backfill progress", () => {
  const fakeStream = (isTTY: boolean) => {
    const s = new PassThrough() as PassThrough & { isTTY: boolean; text: () => string };
    const chunks: string[] = [];
    s.on("data", (c: Buffer) => chunks.push(c.toString()));
    s.isTTY = isTTY;
    s.text = () => chunks.join("");
    return s;
  };
  const memoryLogger = () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    return { logger: createLogger({ destination }), lines };
  };

  const progressOn = (stream: PassThrough, total: number, logger: Logger, now: () => number) =>
    createProgress({
      total,
      label: "Backfill",
      logger,
      intervalMs: 10_000,
      stream: stream as unknown as NodeJS.WriteStream,
      now,
    });

  it("on a terminal redraws one line with done/total, percent, rate and ETA at most every 250 ms", () => {
    let t = 0;
    const stream = fakeStream(true);
    const { logger, lines } = memoryLogger();
    const p = progressOn(stream, 1000, logger, () => t);
    t = 1000;
    p.update(100); // 100 blocks in 1 s
    t = 1100;
    p.update(120); // within 250 ms of the last redraw: not drawn
    t = 2000;
    p.update(200);
    p.finish();
    const frames = stream.text().split("\r\x1b[2K").filter(Boolean);
    expect(frames).toEqual([
      "Backfill 100/1000 blocks 10.0%  100.0 blocks/s  ETA 0:09",
      "Backfill 200/1000 blocks 20.0%  100.0 blocks/s  ETA 0:08",
      "Backfill 200/1000 blocks 20.0%  100.0 blocks/s  ETA 0:08\n",
    ]);
    expect(lines).toEqual([]);
  });

  it("elsewhere logs a progress line per interval and a final one", () => {
    let t = 0;
    const { logger, lines } = memoryLogger();
    const p = progressOn(fakeStream(false), 600, logger, () => t);
    for (t = 1000; t <= 30_000; t += 1000) p.update(t / 100);
    t = 30_000;
    p.finish();
    const fields = lines.map((l) => [l.msg, l.blocks_done, l.blocks_total, l.blocks_per_s, l.eta_s]);
    expect(fields).toEqual([
      ["Backfill progress", 100, 600, 10, 50],
      ["Backfill progress", 200, 600, 10, 40],
      ["Backfill progress", 300, 600, 10, 30],
      ["Backfill finished", 300, 600, 10, 30],
    ]);
  });
});
