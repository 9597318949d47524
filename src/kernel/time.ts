/** ISO-8601 date, or date and time with an optional zone (2026-11-01, 2026-11-01T00:00:00.5+01:00). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An instant given on the command line, in milliseconds: an ISO-8601 time, or unix seconds
 * (below 10^11) or milliseconds. Undefined for anything else. Date.parse alone is not enough:
 * its legacy fallback reads "-1" as 2001-01-01 and "hello 2020" as 2020-01-01.
 */
export function parseInstant(raw: string): number | undefined {
  const t = raw.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? n * 1000 : n;
  }
  const ms = ISO_8601.test(t) ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}
