import { z } from "zod";
import { ConfigError } from "../errors.js";

/**
 * One configuration option: the environment variable it is read from, its schema (which
 * also parses the string form), its default and a line of documentation.
 * `secret` options are never printed, only whether they are set.
 */
export interface Option<T> {
  env: string;
  doc: string;
  /** Human description of the expected value, used in error messages. */
  expected: string;
  default: T | undefined;
  parse: (raw: string) => T;
  secret?: boolean;
}

export type Section = Record<string, Option<unknown>>;
export type SectionValues<S extends Section> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

class ParseFailure extends Error {}

function fail(msg: string): never {
  throw new ParseFailure(msg);
}

export function int(
  env: string,
  def: number | undefined,
  doc: string,
  range: { min?: number; max?: number } = {},
): Option<number> {
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const expected =
    range.min !== undefined && range.max !== undefined
      ? `an integer between ${min} and ${max}`
      : range.min !== undefined
        ? `an integer >= ${min}`
        : "an integer";
  return {
    env,
    doc,
    expected,
    default: def,
    parse: (raw) => {
      const t = raw.trim();
      if (!/^-?\d+$/.test(t)) fail("not an integer");
      const n = Number(t);
      if (!Number.isSafeInteger(n) || n < min || n > max) fail("out of range");
      return n;
    },
  };
}

export function num(
  env: string,
  def: number | undefined,
  doc: string,
  range: { min?: number; max?: number } = {},
): Option<number> {
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  return {
    env,
    doc,
    expected: `a number${Number.isFinite(min) ? ` >= ${min}` : ""}${Number.isFinite(max) ? ` and <= ${max}` : ""}`,
    default: def,
    parse: (raw) => {
      const n = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) fail("out of range");
      return n;
    },
  };
}

export function str(
  env: string,
  def: string | undefined,
  doc: string,
  opts: { secret?: boolean; pattern?: RegExp; expected?: string } = {},
): Option<string> {
  return {
    env,
    doc,
    expected: opts.expected ?? (opts.pattern ? `a string matching ${opts.pattern}` : "a non-empty string"),
    default: def,
    secret: opts.secret ?? false,
    parse: (raw) => {
      if (raw === "") fail("empty");
      if (opts.pattern && !opts.pattern.test(raw)) fail("pattern");
      return raw;
    },
  };
}

export function bool(env: string, def: boolean, doc: string): Option<boolean> {
  return {
    env,
    doc,
    expected: "one of true, false, 1, 0, yes, no",
    default: def,
    parse: (raw) => {
      const t = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(t)) return true;
      if (["false", "0", "no", "off"].includes(t)) return false;
      return fail("not a boolean");
    },
  };
}

export function oneOf<const T extends string>(
  env: string,
  values: readonly T[],
  def: T,
  doc: string,
): Option<T> {
  return {
    env,
    doc,
    expected: `one of ${values.join(", ")}`,
    default: def,
    parse: (raw) => {
      const t = raw.trim() as T;
      if (!values.includes(t)) fail("not allowed");
      return t;
    },
  };
}

export function url(env: string, def: string | undefined, doc: string, protocols: string[]): Option<string> {
  return {
    env,
    doc,
    expected: `a URL with scheme ${protocols.map((p) => p.replace(/:$/, "")).join(" or ")}`,
    default: def,
    parse: (raw) => {
      const r = z.url().safeParse(raw.trim());
      if (!r.success) fail("not a URL");
      const u = new URL(raw.trim());
      if (!protocols.includes(u.protocol)) fail("bad scheme");
      return raw.trim();
    },
  };
}

export function list(env: string, def: string[], doc: string, itemPattern?: RegExp): Option<string[]> {
  return {
    env,
    doc,
    expected: `a comma-separated list${itemPattern ? ` of items matching ${itemPattern}` : ""}`,
    default: def,
    parse: (raw) => {
      const items = raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0) fail("empty");
      if (itemPattern && !items.every((i) => itemPattern.test(i))) fail("bad item");
      return items;
    },
  };
}

/** Wraps an option so that it may be absent (value `undefined`). */
export function optional<T>(o: Option<T>): Option<T | undefined> {
  return { ...o, default: undefined, expected: `${o.expected} (or unset)` };
}

function describe(raw: string): string {
  // A URL's password never reaches an error message: `redis://:***@host`.
  const shown = raw.replace(/(:\/\/[^\s/:@]*:)[^\s/@]+@/g, "$1***@");
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown);
}

/**
 * Reads one section from `env`, with `overrides` (from CLI flags, already typed or raw strings)
 * taking precedence. All problems are collected and reported together.
 */
export function loadSection<S extends Section>(
  section: S,
  env: Record<string, string | undefined>,
  overrides: Partial<Record<keyof S, unknown>> = {},
  problems: string[] = [],
): SectionValues<S> {
  const out: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(section)) {
    const over = overrides[key as keyof S];
    if (over !== undefined && typeof over !== "string") {
      out[key] = over;
      continue;
    }
    const raw = typeof over === "string" ? over : env[opt.env];
    if (raw === undefined || raw === "") {
      out[key] = opt.default;
      continue;
    }
    try {
      out[key] = opt.parse(raw);
    } catch (err) {
      if (!(err instanceof ParseFailure)) throw err;
      const got = opt.secret ? "(a secret value, not shown)" : `${describe(raw)} (string)`;
      problems.push(
        typeof over === "string"
          ? `${opt.env}, given by its command-line flag: got ${got}, expected ${opt.expected}. Fix: pass ${opt.expected} to the flag (its --help line names ${opt.env}), or leave the flag out.`
          : `${opt.env}: got ${got}, expected ${opt.expected}. Fix: set ${opt.env} to ${opt.expected}, or unset it to use the default (${formatDefault(opt)}).`,
      );
    }
  }
  return out as SectionValues<S>;
}

export function formatDefault(opt: Option<unknown>): string {
  if (opt.default === undefined) return "unset";
  if (opt.secret) return "(secret)";
  return Array.isArray(opt.default) ? opt.default.join(",") : String(opt.default);
}

export function throwIfProblems(problems: string[]): void {
  if (problems.length === 0) return;
  throw new ConfigError(
    `Invalid configuration (${problems.length} problem${problems.length > 1 ? "s" : ""}):`,
    {
      details: problems,
    },
  );
}
