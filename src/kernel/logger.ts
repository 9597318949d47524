import { pino, type Logger } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** Values (API keys, passwords) scrubbed from every line wherever they appear. */
  secrets?: string[];
  name?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

/** Paths whose values are always replaced, whatever they hold. */
export const REDACT_PATHS = [
  "apiKey",
  "apikey",
  "password",
  "*.apiKey",
  "*.apikey",
  "*.password",
  "*.saslPassword",
  "*.*.apiKey",
  "*.*.saslPassword",
  "api_key",
  "*.api_key",
  "authorization",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
];

/*
 * The one rule set for secrets in URLs, used for log lines, error messages and the URLs they
 * show (an RPC endpoint, an Etherscan request). Providers put API keys in three places:
 * the query (`?apikey=…`, Etherscan, Ethplorer), the path (Infura `/v3/<key>`, Alchemy
 * `/v2/<key>`, QuickNode `/<token>/`, Ankr `/eth/<key>`) and the password (`redis://:pw@…`).
 */
const SECRET_QUERY = /([?&](?:apikey|apiKey|api_key|key|token|access_token)=)[^&\s"#]+/g;
/** `scheme://user:password@host` (Redis, Kafka, RPC URLs with credentials): the password part. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@"]*:)[^\s/@"]+@/gi;
/** A path that is not a full URL (an HTML page echoing `GET /v3/<key>`): the segment after /v2/ or /v3/. */
const PATH_KEY = /(\/v[23]\/)[A-Za-z0-9_-]{16,}/g;
/** A full HTTP or WebSocket URL inside a text; its path segments are checked one by one. */
const HTTP_URL = /\b(?:https?|wss?):\/\/[^\s"'<>]+/g;
/** A path segment that looks like a key: 16+ key characters, not a 0x address or hash (never secret). */
const KEY_SEGMENT = /^(?!0x[0-9a-fA-F]+$)[A-Za-z0-9_-]{16,}$/;

/** `https://host/v3/<key>?x=1` → `https://host/v3/***?x=1`: every key-like path segment masked. */
function maskPathKeys(url: string): string {
  const end = url.search(/[?#]/);
  const base = end < 0 ? url : url.slice(0, end);
  const parts = base.split("/"); // ["https:", "", "host", ...segments]
  for (let i = 3; i < parts.length; i++) {
    // A URL inside a sentence may end with punctuation: "(see https://host/<key>)."
    const [, seg = "", tail = ""] = /^(.*?)([).,;:!\]]*)$/.exec(parts[i]!) ?? [];
    if (KEY_SEGMENT.test(seg)) parts[i] = `***${tail}`;
  }
  return parts.join("/") + (end < 0 ? "" : url.slice(end));
}

/**
 * Replaces API keys in URLs (`?apikey=…`, `/v3/<key>`, any key-like path segment of an http(s)
 * or ws(s) URL), passwords in URLs (`redis://:pw@…`) and any registered secret value with `***`.
 * A URL given alone comes back with only those parts changed, so it still says which endpoint
 * and which request: `scrubSecrets("https://mainnet.infura.io/v3/abc…")` →
 * `"https://mainnet.infura.io/v3/***"`.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(HTTP_URL, maskPathKeys)
    .replace(SECRET_QUERY, "$1***")
    .replace(URL_PASSWORD, "$1***@")
    .replace(PATH_KEY, "$1***");
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
}

/**
 * Values of a URL that a server may echo elsewhere (an HTML error page, a JSON error): its
 * key-like query parameters and its password. Pass them to `scrubSecrets` with such a body.
 */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [...u.searchParams]
      .filter(([k, v]) => /^(api_?key|key|token|access_token)$/i.test(k) && v.length > 0)
      .map(([, v]) => v);
    if (u.password) out.push(decodeURIComponent(u.password));
    for (const seg of u.pathname.split("/")) if (KEY_SEGMENT.test(seg)) out.push(seg);
    return out;
  } catch {
    return [];
  }
}

/**
 * Structured JSON logs with fixed messages and snake_case fields:
 * `logger.warn({ msg: "JSON-RPC request failed", retry_count, err })`.
 * Pretty printing only when asked (development).
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets ?? [];
  const options = {
    name: opts.name ?? "att",
    level: opts.level ?? "info",
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: "***" },
    hooks: {
      // Last line of defence: a secret inside an error message or URL never reaches the sink.
      streamWrite: (line: string) => scrubSecrets(line, secrets),
    },
    ...(opts.pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: { colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" },
          },
        }
      : {}),
  };
  return opts.destination && !opts.pretty ? pino(options, opts.destination) : pino(options);
}
