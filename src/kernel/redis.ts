import { Redis, type RedisOptions } from "ioredis";
import { redisTarget } from "./config/redis.js";
import type { Logger } from "./logger.js";

/**
 * Writes refused by a server that is (now) a replica: a failover demoted the primary this
 * connection still talks to. Reconnecting (through Sentinel: to the new primary) and sending the
 * command again is safe, a refused write did nothing.
 */
const READONLY = /^READONLY\b/;
const READONLY_RESEND_MS = 10_000;

/**
 * The one ioredis client factory: every Redis connection of the project is made here or is a
 * `duplicate()` of one made here (BullMQ queues, workers and event streams get duplicates), so
 * they all share these settings. `url` is ATT_REDIS_URL: `redis://`, `rediss://`, or
 * `redis+sentinel://h1:26379,h2:26379/<master name>[/<db>]`, with which ioredis asks the
 * sentinels for the primary on every (re)connect and listens for their `+switch-master`
 * (`failoverDetector`), so that a failover moves every connection to the new primary.
 * `blocking: true` gives the settings BullMQ workers need (`maxRetriesPerRequest: null`): their
 * blocking commands must wait, not fail.
 */
export function createRedis(
  url: string,
  opts: { logger?: Logger; blocking?: boolean; name?: string } = {},
): Redis {
  // A streak of READONLY replies: the first 10 s of it, refused commands are sent again after the
  // reconnect (a failover in progress: the sentinels soon name the new primary); after that they
  // fail with READONLY, so that callers see an outage (the score stage pauses) instead of waiting
  // for ever on a URL that names a replica for good.
  let streakStart = 0;
  let lastReadonly = 0;
  let warnedAt = 0;
  const common: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: opts.name,
    reconnectOnError: (err) => {
      if (!READONLY.test(err.message)) return false;
      const now = Date.now();
      if (now - lastReadonly > READONLY_RESEND_MS) streakStart = now;
      lastReadonly = now;
      // ioredis emits no error event for it: say it here, at most every 10 s.
      if (now - warnedAt >= READONLY_RESEND_MS) {
        warnedAt = now;
        opts.logger?.warn({
          msg: "Redis refused a write (READONLY: the server is a replica now); reconnecting to the primary",
          connection: opts.name,
        });
      }
      // 2: reconnect and send the command again; 1: reconnect and fail the command.
      return now - streakStart < READONLY_RESEND_MS ? 2 : 1;
    },
  };
  const target = redisTarget(url);
  const client =
    target.kind === "server"
      ? new Redis(target.url, common)
      : new Redis({
          ...common,
          sentinels: target.sentinels,
          name: target.name,
          db: target.db,
          ...(target.username ? { username: target.username } : {}),
          ...(target.password ? { password: target.password } : {}),
          failoverDetector: true,
        });
  watchConnection(client, opts.logger, opts.name);
  return client;
}

/**
 * Connection errors of an ioredis client that mean "Redis is not there" (they repeat on every
 * reconnect attempt), including "no sentinel answers" and a write to a demoted primary (READONLY)
 * during a failover.
 */
export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "ETIMEDOUT" ||
    code === "EPIPE" ||
    code === "ENOTFOUND" ||
    code === "EAI_AGAIN" ||
    /Connection is closed|connect ETIMEDOUT|Socket closed unexpectedly|All sentinels are unreachable|^READONLY\b/.test(
      err.message,
    )
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
      // Through Sentinel this is the primary it found, the new one after a failover.
      server: `${client.stream?.remoteAddress}:${client.stream?.remotePort}`,
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
