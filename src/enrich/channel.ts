import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Logger } from "../kernel/logger.js";
import { isConnectionError } from "../kernel/redis.js";
import { cacheKey, decodeValue, jobId, queueName, type LookupKind, type LookupValue } from "./keys.js";
import type { EnrichMetrics } from "./metrics.js";
import type { EnrichConfig } from "./providers/index.js";
import { enrichmentFailure, isEnrichmentFailure, type EnrichmentFailure } from "./types.js";
import type { EnrichJobData, EnrichJobResult } from "./worker.js";

export type Outcome = LookupValue | EnrichmentFailure;

export const WHAT = { token: "Token metadata", firsttx: "First-transaction time" } as const;

/** Outcome code of a lookup Redis did not answer: the enricher turns it into an InfrastructureError, never a verdict. */
export const UNAVAILABLE = "ATT_ENRICHMENT_UNAVAILABLE";

/** One lookup in flight in this process; every batch that needs the key shares it (single flight). */
export interface Pending {
  readonly address: string;
  readonly promise: Promise<Outcome>;
  readonly startedAt: number;
  settled: boolean;
  outcome?: Outcome;
  /** True once a job was queued (the value was not in Redis). */
  queued: boolean;
  settle(o: Outcome): void;
}

/**
 * The client side of one enrichment queue in one process: the BullMQ queue to add jobs to, ONE
 * QueueEvents listener dispatching completions and failures to the pending lookups, the
 * in-process LRU and the lookups in flight.
 */
export interface LookupChannel {
  readonly kind: LookupKind;
  readonly name: string;
  readonly lru: LRUCache<string, { v: LookupValue }>;
  readonly inflight: Map<string, Pending>;
  /** Resolves once the events stream is read (jobs added before could finish unseen). */
  readonly ready: Promise<unknown>;
  /** The lookup in flight for `address`, or a new one (`fresh`). */
  pending(address: string): { p: Pending; fresh: boolean };
  /** Queues the lookups with one addBulk; a Redis failure settles them as failures. */
  enqueue(ps: Pending[]): Promise<void>;
  /** Job counts and rate-limit state, for the reason of a late value; `unreachable` when Redis did not answer. */
  describe(): Promise<{ text: string; unreachable: boolean }>;
  /** The queued lookups among `ps` whose job is gone from Redis and whose value is not cached either. */
  lost(ps: Pending[]): Promise<Pending[]>;
  jobCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const FAILED_REASON = /^(ATT_[A-Z0-9_]+): ([\s\S]*)$/;

export function createLookupChannel(opts: {
  kind: LookupKind;
  provider: string;
  redis: Redis;
  queuePrefix: string;
  chainId: number;
  enrich: EnrichConfig["enrich"];
  logger: Logger;
  metrics: EnrichMetrics;
}): LookupChannel {
  const { kind, enrich: e, chainId, metrics } = opts;
  const name = queueName(kind, opts.provider);
  const queueConn = opts.redis.duplicate();
  const eventsConn = opts.redis.duplicate({ maxRetriesPerRequest: null });
  // duplicate() copies options, not listeners: without one, ioredis prints "Unhandled error
  // event" for every failed reconnect. The outage itself is reported once by the score stage.
  for (const c of [queueConn, eventsConn])
    c.on("error", (err: Error) =>
      opts.logger.debug({ msg: "Redis connection error", queue: name, err: err.message }),
    );
  const queue = new Queue<EnrichJobData, EnrichJobResult>(name, {
    connection: queueConn,
    prefix: opts.queuePrefix,
  });
  const events = new QueueEvents(name, { connection: eventsConn, prefix: opts.queuePrefix });
  const lru = new LRUCache<string, { v: LookupValue }>({
    max: e.lruMax,
    ...(kind === "token" ? { ttl: e.tokenTtlSec * 1000 } : {}),
  });
  const inflight = new Map<string, Pending>();
  const idPrefix = jobId(kind, chainId, "");

  events.on("completed", ({ jobId: id, returnvalue }) => {
    const p = inflight.get(id.slice(idPrefix.length));
    if (!p) return;
    const rv = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as EnrichJobResult;
    p.settle(decodeValue(kind, p.address, rv.v));
  });
  events.on("failed", ({ jobId: id, failedReason }) => {
    const p = inflight.get(id.slice(idPrefix.length));
    if (!p) return;
    const m = FAILED_REASON.exec(failedReason ?? "");
    const why = `${WHAT[kind]} of ${p.address} could not be had: ${m?.[2] ?? failedReason}`;
    p.settle(enrichmentFailure(m?.[1] ?? "ATT_ENRICHMENT_FAILED", why));
  });
  // Without a listener BullMQ prints every connection error to stderr; the outage is reported once by the score stage.
  queue.on("error", (err: Error) =>
    opts.logger.debug({ msg: "Enrichment queue error", queue: name, err: err.message }),
  );
  events.on("error", (err) =>
    (isConnectionError(err) ? opts.logger.debug : opts.logger.warn).call(opts.logger, {
      msg: "Enrichment events stream error",
      queue: name,
      err: err.message,
    }),
  );
  const ready = events.waitUntilReady();
  ready.catch(() => undefined);

  function newPending(address: string): Pending {
    let resolve!: (o: Outcome) => void;
    const p: Pending = {
      address,
      promise: new Promise<Outcome>((r) => (resolve = r)),
      startedAt: performance.now(),
      settled: false,
      queued: false,
      settle(o) {
        if (p.settled) return;
        p.settled = true;
        p.outcome = o;
        if (inflight.get(address) === p) inflight.delete(address);
        if (!isEnrichmentFailure(o)) {
          // "No transaction known" may change; a found first transaction never does.
          lru.set(
            address,
            { v: o },
            kind === "firsttx" && o === null ? { ttl: e.firstTxNoneTtlSec * 1000 } : {},
          );
          if (p.queued) metrics.resolveSeconds.observe({ kind }, (performance.now() - p.startedAt) / 1000);
        }
        resolve(o);
      },
    };
    return p;
  }

  const jobCounts = () => queue.getJobCounts("waiting", "active", "delayed", "prioritized");

  return {
    kind,
    name,
    lru,
    inflight,
    ready,
    pending(address) {
      const existing = inflight.get(address);
      if (existing) return { p: existing, fresh: false };
      const p = newPending(address);
      inflight.set(address, p);
      return { p, fresh: true };
    },
    async enqueue(ps) {
      for (const p of ps) p.queued = true;
      try {
        await queue.addBulk(
          ps.map((p) => ({
            name: kind,
            data: { address: p.address, chainId },
            opts: {
              jobId: jobId(kind, chainId, p.address),
              attempts: e.attempts,
              backoff: { type: "exponential", delay: e.backoffMs },
              removeOnComplete: true,
              removeOnFail: true,
            },
          })),
        );
      } catch (err) {
        for (const p of ps) {
          p.settle(
            enrichmentFailure(
              UNAVAILABLE,
              `${WHAT[kind]} of ${p.address}: could not queue the lookup (${(err as Error).message})`,
            ),
          );
        }
      }
    },
    async describe() {
      try {
        const [c, ttl] = await Promise.all([jobCounts(), queue.getRateLimitTtl()]);
        const limited = ttl > 0 ? `; provider rate limit in force for ${ttl} more ms` : "";
        return {
          text: `queue ${name} has ${(c.waiting ?? 0) + (c.prioritized ?? 0)} waiting, ${c.active ?? 0} active, ${c.delayed ?? 0} retrying${limited}`,
          unreachable: false,
        };
      } catch {
        return { text: `queue ${name} state unknown (Redis unreachable)`, unreachable: true };
      }
    },
    async lost(ps) {
      const queued = ps.filter((p) => p.queued && !p.settled);
      if (queued.length === 0) return [];
      // EXISTS of the job, then GET of its value, in one pipeline: a worker caches the value before
      // its job is removed, so "no job" followed by "no value" means the job was lost, not finished.
      const pipe = queueConn.pipeline();
      for (const p of queued) {
        pipe.exists(queue.toKey(jobId(kind, chainId, p.address)));
        pipe.get(cacheKey(opts.queuePrefix, kind, chainId, p.address));
      }
      const res = (await pipe.exec()) ?? [];
      const out: Pending[] = [];
      queued.forEach((p, i) => {
        const [existsErr, exists] = res[2 * i] ?? [];
        const [getErr, value] = res[2 * i + 1] ?? [];
        if (existsErr || getErr) return;
        if (typeof value === "string") p.settle(decodeValue(kind, p.address, value));
        else if (exists === 0) out.push(p);
      });
      return out;
    },
    jobCounts,
    async close() {
      await events.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      await Promise.all([queueConn, eventsConn].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
