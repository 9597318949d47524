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
  "headers.authorization",
];

const SECRET_QUERY = /([?&](?:apikey|apiKey|api_key|key|token)=)[^&\s"]+/g;

/** Replaces API keys in URLs (`?apikey=…`) and any registered secret value with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(SECRET_QUERY, "$1***");
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
