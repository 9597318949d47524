import { ConfigError } from "../../kernel/errors.js";
import { parseInstant } from "../../kernel/time.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time for --from/--to, in milliseconds: ISO-8601 ("2026-11-01T00:00:00Z"),
 * unix seconds or milliseconds, "now", or relative to now ("-24h", "-7d", "-30m").
 */
export function parseTime(raw: string, flag: string, nowMs: number = Date.now()): number {
  const t = raw.trim();
  if (t === "now") return nowMs;
  const rel = /^-(\d+(?:\.\d+)?)([smhdw])$/.exec(t);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  const ms = parseInstant(t);
  if (ms === undefined) {
    throw new ConfigError(`Invalid ${flag}: got ${JSON.stringify(raw)}`, {
      details: [
        "Expected: an ISO-8601 time (2026-11-01T00:00:00Z), unix seconds or milliseconds, now, or a relative time like -24h, -7d, -30m.",
      ],
    });
  }
  return ms;
}

/**
 * --from/--to in milliseconds: `to` defaults to now, `from` to 24 hours before `to`. An empty
 * range (from not before to) is a ConfigError.
 */
export function parseTimeRange(
  flags: { from?: string; to?: string },
  nowMs: number,
): { fromMs: number; toMs: number } {
  const toMs = flags.to ? parseTime(flags.to, "--to", nowMs) : nowMs;
  const fromMs = flags.from ? parseTime(flags.from, "--from", nowMs) : toMs - 86_400_000;
  if (fromMs >= toMs) {
    throw new ConfigError("Empty time range: --from must be before --to", {
      details: [`Got: from ${new Date(fromMs).toISOString()}, to ${new Date(toMs).toISOString()}`],
    });
  }
  return { fromMs, toMs };
}
