import { ConfigError } from "../kernel/errors.js";

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
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? n * 1000 : n;
  }
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) {
    throw new ConfigError(`Invalid ${flag}: got ${JSON.stringify(raw)}`, {
      details: [
        "Expected: an ISO-8601 time (2026-11-01T00:00:00Z), unix seconds or milliseconds, now, or a relative time like -24h, -7d, -30m.",
      ],
    });
  }
  return ms;
}
