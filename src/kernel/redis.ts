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
  client.on("error", (err: Error) => opts.logger?.warn({ msg: "Redis connection error", err: err.message }));
  return client;
}

/** Checks that Redis is set up for BullMQ; returns a problem description or undefined. */
export async function checkRedisPolicy(client: Redis): Promise<string | undefined> {
  const res = (await client.config("GET", "maxmemory-policy")) as string[];
  const policy = res[1];
  return policy === "noeviction"
    ? undefined
    : `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" (set it in redis.conf or with CONFIG SET).`;
}
