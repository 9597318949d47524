import { bool, int, oneOf } from "./option.js";

/** Options every process reads. */
export const commonOptions = {
  logLevel: oneOf(
    "ATT_LOG_LEVEL",
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
    "info",
    "Log level.",
  ),
  logPretty: bool(
    "ATT_LOG_PRETTY",
    false,
    "Human-readable logs (development only; production logs are JSON lines).",
  ),
  metricsPort: int(
    "ATT_METRICS_PORT",
    9464,
    "Port for /metrics, /healthz and /readyz on 0.0.0.0; 0 disables the server.",
    { min: 0, max: 65535 },
  ),
  metricsHost: oneOf(
    "ATT_METRICS_HOST",
    ["0.0.0.0", "127.0.0.1", "::"] as const,
    "0.0.0.0",
    "Address the metrics server binds.",
  ),
  shutdownGraceMs: int(
    "ATT_SHUTDOWN_GRACE_MS",
    30_000,
    "After SIGTERM/SIGINT, how long cleanups may run before the process exits anyway.",
    { min: 100, max: 600_000 },
  ),
};
