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

const SECRET_QUERY = /([?&](?:apikey|apiKey|api_key|key|token)=)[^&\s"]+/g;
/** `scheme://user:password@host` (Redis, Kafka, RPC URLs with credentials): the password part. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@"]*:)[^\s/@"]+@/gi;
/** Node providers that put the API key in the path: Infura `/v3/<key>`, Alchemy `/v2/<key>`. */
const PATH_KEY = /(\/v[23]\/)[A-Za-z0-9_-]{16,}/g;

/**
 * Replaces API keys in URLs (`?apikey=…`, `/v3/<key>`), passwords in URLs (`redis://:pw@…`)
 * and any registered secret value with `***`.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(SECRET_QUERY, "$1***").replace(URL_PASSWORD, "$1***@").replace(PATH_KEY, "$1***");
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
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
