import { summarize } from "../stats.js";
import type { Arrival } from "./stream.js";

export interface WindowFigures {
  /** Longest time between two consecutive findings of one input partition in the window (s). */
  longestGapS: number;
  /** The partition that had it. */
  partition: number;
  /** Longest gap of each input partition (s). */
  gapsS: number[];
  /** Latency (send → finding read) of the transactions sent in the window (ms). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  transactions: number;
}

/**
 * What a window `[from, to)` (Date.now() ms) of a steady stream looked like: per input partition,
 * the longest gap between consecutive findings that ends inside the window (it may start before
 * `from`: findings arrive some latency after their transactions, so the stall an event at `from`
 * causes starts a little earlier at the reader), and the latency percentiles of the transactions
 * sent inside it. `to` may be Infinity (the last window: until the stream has drained).
 */
export function windowFigures(
  arrivals: Arrival[],
  partitions: number,
  from: number,
  to: number,
  /** Latency counts transactions sent before this (default `to`): the next event's victims are its. */
  sentBefore = to,
): WindowFigures {
  const byPartition: number[][] = Array.from({ length: partitions }, () => []);
  for (const a of arrivals) byPartition[a.partition]!.push(a.at);
  const gapsS = byPartition.map((times) => {
    times.sort((a, b) => a - b);
    let longest = 0;
    for (let i = 1; i < times.length; i++) {
      const [prev, cur] = [times[i - 1]!, times[i]!];
      if (cur < from || cur >= to) continue;
      longest = Math.max(longest, cur - prev);
    }
    // A partition that got nothing at all in the window stalled through it.
    const before = times.filter((t) => t < from).at(-1);
    if (!times.some((t) => t >= from && t < to) && Number.isFinite(to))
      longest = Math.max(longest, to - (before ?? from));
    return longest / 1000;
  });
  const longestGapS = Math.max(...gapsS);
  const lat = summarize(
    arrivals.filter((a) => a.sentAt >= from && a.sentAt < sentBefore).map((a) => a.at - a.sentAt),
  );
  return {
    longestGapS,
    partition: gapsS.indexOf(longestGapS),
    gapsS,
    p50Ms: lat.p50,
    p99Ms: lat.p99,
    maxMs: lat.max,
    transactions: lat.n,
  };
}
