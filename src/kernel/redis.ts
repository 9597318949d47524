import { Redis } from "ioredis";
import type { Logger } from "./logger.js";

/**
 * An ioredis client. `blocking: true` gives the settings BullMQ workers need
 * (`maxRetriesPerRequest: null`): their blocking commands must wait, not fail.
 */
export function createRedis(
  url: string,
  opts: { logger?: Logger; blocking?: boolean; name?: string } = {},
): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: opts.name,
  });
  watchConnection(client, opts.logger, opts.name);
  return client;
}

/** Connection errors of an ioredis client that mean "Redis is not there" (they repeat on every reconnect attempt). */
export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "ETIMEDOUT" ||
    code === "EPIPE" ||
    code === "ENOTFOUND" ||
    code === "EAI_AGAIN" ||
    /Connection is closed|connect ETIMEDOUT|Socket closed unexpectedly/.test(err.message)
  );
}

/**
 * One warn line when the connection is lost and one info line when it is back, instead of a
 * line per reconnect attempt (ioredis retries every ≤ 2 s for as long as Redis is away).
 * Other errors stay warnings.
 */
export function watchConnection(client: Redis, logger: Logger | undefined, name?: string): void {
  let lostAt: number | undefined;
  let attempts = 0;
  client.on("error", (err: Error) => {
    if (!isConnectionError(err)) {
      logger?.warn({ msg: "Redis error", connection: name, err: err.message });
      return;
    }
    attempts += 1;
    if (lostAt === undefined) {
      lostAt = Date.now();
      logger?.warn({ msg: "Redis connection lost; reconnecting", connection: name, err: err.message });
    } else
      logger?.debug({ msg: "Redis reconnect failed", connection: name, attempt: attempts, err: err.message });
  });
  client.on("ready", () => {
    if (lostAt === undefined) return;
    logger?.info({
      msg: "Redis connection restored",
      connection: name,
      down_sec: (Date.now() - lostAt) / 1000,
      failed_attempts: attempts,
    });
    lostAt = undefined;
    attempts = 0;
  });
}

/** Checks that Redis is set up for BullMQ; returns a problem description or undefined. */
export async function checkRedisPolicy(client: Redis): Promise<string | undefined> {
  const res = (await client.config("GET", "maxmemory-policy")) as string[];
  const policy = res[1];
  return policy === "noeviction"
    ? undefined
    : `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" (set it in redis.conf or with CONFIG SET).`;
}
