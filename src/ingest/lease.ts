import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "../kernel/logger.js";
import { sleep } from "../kernel/shutdown.js";
import { LeaseLostError } from "./errors.js";

/**
 * One active ingester per chain: a Redis lease (`SET key token NX PX ttl`), renewed with a
 * compare-and-set, plus a fencing token (INCR) that grows with every new holder and is written
 * into each checkpoint. A standby polls for the lease and takes over at most ttl + poll after
 * the holder dies. Kafka's transactional fencing is the second line of defence.
 */
export interface Lease {
  readonly token: string;
  /** Waits (as a standby) until the lease is ours. `lost` aborts the moment we no longer hold it. */
  acquire(signal: AbortSignal): Promise<{ fencingToken: number; lost: AbortSignal }>;
  /** Throws LeaseLostError unless the lease is held and, by our clock, not about to expire. */
  assertHeld(): void;
  readonly held: boolean;
  /** False while Redis cannot be reached (standby health). */
  readonly healthy: boolean;
  release(): Promise<void>;
  /**
   * Raises the fencing counter to at least `min` (a checkpoint carries a higher token than the
   * counter: Redis lost its data). The next holder then gets a token above every written one.
   */
  raiseFence(min: number): Promise<void>;
}

// SET NX PX and INCR in one step, so that a fencing token always belongs to exactly one holder.
const ACQUIRE = `
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('incr', KEYS[2])
end
return 0`;
const RENEW = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0`;
const RAISE = `
local v = tonumber(redis.call('get', KEYS[1]) or '0')
if v < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end
return 1`;
const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0`;

export function createLease(opts: {
  redis: Redis;
  /** e.g. `att:ingest:1:lease`; the fencing counter lives at `<key>:fence`. */
  key: string;
  ttlMs: number;
  pollMs: number;
  logger: Logger;
  onStateChange?: (state: "standby" | "active", fencingToken: number) => void;
}): Lease {
  const token = `${hostname()}:${process.pid}:${randomUUID()}`;
  const renewEveryMs = Math.max(10, Math.floor(opts.ttlMs / 3));
  // We stop producing before Redis would expire the key: clocks and round-trips are not free.
  const safeMs = Math.floor(opts.ttlMs * 0.8);
  let held = false;
  let validUntil = 0;
  let healthy = true;
  let renewTimer: NodeJS.Timeout | undefined;
  let lostController: AbortController | undefined;
  let standbyLogged = false;

  const lose = (why: string) => {
    if (!held) return;
    held = false;
    clearTimeout(renewTimer);
    opts.logger.warn({ msg: "Ingest lease lost, stopping production", reason: why });
    lostController?.abort(new LeaseLostError(`Ingest lease lost: ${why}`));
  };

  const scheduleRenew = () => {
    renewTimer = setTimeout(() => void renew(), renewEveryMs);
  };

  const renew = async () => {
    if (!held) return;
    const sentAt = Date.now();
    try {
      const ok = (await opts.redis.eval(RENEW, 1, opts.key, token, String(opts.ttlMs))) as number;
      healthy = true;
      if (ok !== 1) return lose("another ingester holds it");
      validUntil = sentAt + safeMs;
    } catch (err) {
      healthy = false;
      opts.logger.warn({ msg: "Ingest lease renewal failed", err: String(err) });
      if (Date.now() >= validUntil) return lose("could not renew it in time");
    }
    if (held) scheduleRenew();
  };

  return {
    token,
    get held() {
      return held && Date.now() < validUntil;
    },
    get healthy() {
      return healthy;
    },
    assertHeld() {
      if (!held || Date.now() >= validUntil) {
        if (held) lose("it expired before it could be renewed");
        throw new LeaseLostError("Ingest lease not held");
      }
    },
    async acquire(signal) {
      for (;;) {
        signal.throwIfAborted();
        const sentAt = Date.now();
        try {
          const fencing = (await opts.redis.eval(
            ACQUIRE,
            2,
            opts.key,
            `${opts.key}:fence`,
            token,
            String(opts.ttlMs),
          )) as number;
          healthy = true;
          if (fencing > 0) {
            held = true;
            validUntil = sentAt + safeMs;
            lostController = new AbortController();
            standbyLogged = false;
            scheduleRenew();
            opts.logger.info({ msg: "Ingest lease acquired, active", fencing_token: fencing });
            opts.onStateChange?.("active", fencing);
            return { fencingToken: fencing, lost: lostController.signal };
          }
          if (!standbyLogged) {
            standbyLogged = true;
            opts.logger.info({ msg: "Another ingester is active, waiting as standby", poll_ms: opts.pollMs });
            opts.onStateChange?.("standby", 0);
          }
        } catch (err) {
          healthy = false;
          opts.logger.warn({ msg: "Ingest lease poll failed", err: String(err) });
        }
        await sleep(opts.pollMs, signal);
      }
    },
    async raiseFence(min) {
      await opts.redis.eval(RAISE, 1, `${opts.key}:fence`, String(min));
    },
    async release() {
      const wasHeld = held;
      held = false;
      clearTimeout(renewTimer);
      if (!wasHeld) return;
      try {
        await opts.redis.eval(RELEASE, 1, opts.key, token);
        opts.logger.info({ msg: "Ingest lease released" });
      } catch (err) {
        opts.logger.warn({ msg: "Ingest lease release failed; it expires by itself", err: String(err) });
      }
    },
  };
}
