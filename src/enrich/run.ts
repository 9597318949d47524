import { checkRedisPolicy, createRedis } from "../kernel/redis.js";
import { createRuntime } from "../kernel/runtime.js";
import type { LookupKind } from "./keys.js";
import { createEnrichWorkers } from "./worker.js";

/**
 * `att enrich`: enrichment workers in their own process, until SIGINT/SIGTERM. Any number of
 * these (and in-process workers of `att score`) share each queue's rate limit through Redis.
 */
export async function runEnrich(opts: { kinds?: LookupKind[] } = {}): Promise<void> {
  const rt = await createRuntime("enrich");
  const { config, logger } = rt;
  const redis = createRedis(config.redis.url, { logger, name: "att-enrich" });
  rt.shutdown.register("redis", () => redis.quit().then(() => undefined));
  const problem = await checkRedisPolicy(redis).catch(() => undefined);
  if (problem) logger.warn({ msg: "Redis is not set up for BullMQ", problem });
  const workers = createEnrichWorkers({
    redis,
    queuePrefix: config.redis.keyPrefix,
    config,
    logger,
    registry: rt.registry,
    ...(opts.kinds ? { kinds: opts.kinds } : {}),
  });
  rt.shutdown.register("enrich-workers", () => workers.close());
  rt.health?.addReadinessCheck("redis", () => redis.status === "ready");
  logger.info({ msg: "Enrichment workers running", queues: workers.queues });
  await new Promise<void>((resolve) =>
    rt.shutdown.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}
