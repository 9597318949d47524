import { loadConfig, secretValues, type Config, type Overrides } from "./config/index.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetricsRegistry, startHealthServer, type HealthServer, type Registry } from "./metrics.js";
import { createShutdown, type Shutdown } from "./shutdown.js";

export interface Runtime {
  stage: string;
  config: Config;
  logger: Logger;
  shutdown: Shutdown;
  registry: Registry;
  /** Present when ATT_METRICS_PORT is not 0. */
  health?: HealthServer;
}

/**
 * What every long-running subcommand starts with: configuration read and validated once,
 * the logger (secrets scrubbed), the shutdown registry with signal handlers, and the
 * metrics/health server. Throws ConfigError before anything is started.
 */
export async function createRuntime(
  stage: string,
  opts: {
    overrides?: Overrides;
    env?: Record<string, string | undefined>;
    serveMetrics?: boolean;
    signals?: boolean;
  } = {},
): Promise<Runtime> {
  const env = opts.env ?? process.env;
  const config = loadConfig(env, opts.overrides);
  const logger = createLogger({
    level: config.common.logLevel,
    pretty: config.common.logPretty,
    secrets: secretValues(env),
    name: `att-${stage}`,
  });
  const shutdown = createShutdown({ logger, graceMs: config.common.shutdownGraceMs });
  if (opts.signals !== false) shutdown.installSignalHandlers();
  const registry = createMetricsRegistry(stage);
  let health: HealthServer | undefined;
  if (opts.serveMetrics !== false && config.common.metricsPort !== 0) {
    health = await startHealthServer({
      registry,
      port: config.common.metricsPort,
      host: config.common.metricsHost,
      logger,
    });
    const h = health;
    shutdown.register("health-server", () => h.close());
  }
  return { stage, config, logger, shutdown, registry, ...(health ? { health } : {}) };
}
