import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { InfrastructureError, ShutdownError } from "../kernel/errors.js";
import type { Logger } from "../kernel/logger.js";
import {
  createLookupChannel,
  UNAVAILABLE,
  WHAT,
  type LookupChannel,
  type Outcome,
  type Pending,
} from "./channel.js";
import { cacheKey, decodeValue, type LookupKind } from "./keys.js";
import { enrichMetrics, trackQueueDepth } from "./metrics.js";
import type { EnrichConfig } from "./providers/index.js";
import { enrichmentFailure, isEnrichmentFailure, type ResolvedEnrichment } from "./types.js";
import { createEnrichWorkers, type EnrichWorkersDeps } from "./worker.js";

export interface EnricherDeps {
  /** A plain ioredis client: cache reads (MGET) go through it; BullMQ gets duplicates. */
  redis: Redis;
  /** BullMQ and cache key prefix (ATT_REDIS_PREFIX). */
  queuePrefix: string;
  config: EnrichConfig;
  logger: Logger;
  registry: Registry;
  /** Also run the workers in this process; default: ATT_ENRICH_WORKERS=in-process. */
  workers?: boolean;
  /** Providers for in-process workers instead of the configured ones (tests). */
  providers?: EnrichWorkersDeps["providers"];
}

export interface EnrichOptions {
  /** Milliseconds from the call until missing values are reported as failures. */
  deadlineMs: number;
  signal?: AbortSignal;
  /** Resolve senders' first-transaction times (default true; a model without the active period needs none). */
  firstTx?: boolean;
}

export interface Enricher {
  /**
   * Token metadata of every token and first-transaction time of every sender of a batch: one
   * in-process cache pass, ONE Redis round trip (MGET) for the rest, the misses queued together,
   * then one wait for all of them until `deadlineMs`. Whatever is not there by then comes back
   * as an EnrichmentFailure saying why (code ATT_ENRICHMENT_TIMEOUT, queue state in the reason).
   */
  resolveBatch(txs: TokenTransferTx[], opts: EnrichOptions): Promise<ResolvedEnrichment>;
  close(): Promise<void>;
}

/**
 * The enrichment client of a scoring process. See `resolveBatch`; values also stay in an
 * in-process LRU (token metadata for ATT_ENRICH_TOKEN_TTL_SEC, found first-transaction times
 * for good, "no transaction known" for ATT_ENRICH_FIRST_TX_NONE_TTL_SEC).
 *
 * @example
 *   const enricher = createEnricher({ redis, queuePrefix: config.redis.keyPrefix, config, logger, registry });
 *   const { tokens, firstTx } = await enricher.resolveBatch(txs, { deadlineMs: 5000 });
 */
export function createEnricher(deps: EnricherDeps): Enricher {
  const { config, redis, logger } = deps;
  const e = config.enrich;
  const chainId = config.chain.chainId;
  const metrics = enrichMetrics(deps.registry);
  const channelOf = (kind: LookupKind, provider: string) =>
    createLookupChannel({
      kind,
      provider,
      redis,
      queuePrefix: deps.queuePrefix,
      chainId,
      enrich: e,
      logger,
      metrics,
    });
  const channels: Record<LookupKind, LookupChannel> = {
    token: channelOf("token", e.tokenProvider),
    firsttx: channelOf("firsttx", e.firstTxProvider),
  };
  const untrack = Object.values(channels).map((c) => trackQueueDepth(deps.registry, c.name, c.jobCounts));
  const workers =
    (deps.workers ?? e.workers === "in-process")
      ? createEnrichWorkers({ ...deps, ...(deps.providers ? { providers: deps.providers } : {}) })
      : undefined;
  let poller: NodeJS.Timeout | undefined;
  let closed = false;
  const keyOf = (ch: LookupChannel, address: string) => cacheKey(deps.queuePrefix, ch.kind, chainId, address);

  /** Safety net for missed completion events: re-reads the cache of every queued key. */
  function ensurePoller(): void {
    if (poller || closed) return;
    poller = setInterval(() => void poll(), e.pollMs);
    poller.unref();
  }
  async function poll(): Promise<void> {
    const waiting: [LookupChannel, Pending][] = [];
    const now = performance.now();
    for (const ch of Object.values(channels)) {
      for (const p of ch.inflight.values()) {
        if (!p.queued) continue;
        if (now - p.startedAt <= e.maxWaitMs) waiting.push([ch, p]);
        else {
          const why = `${WHAT[ch.kind]} of ${p.address}: no answer from queue ${ch.name} within ${e.maxWaitMs} ms`;
          p.settle(enrichmentFailure("ATT_ENRICHMENT_TIMEOUT", why));
        }
      }
    }
    if (waiting.length === 0) {
      clearInterval(poller);
      poller = undefined;
      return;
    }
    try {
      const raw = await redis.mget(waiting.map(([ch, p]) => keyOf(ch, p.address)));
      const unanswered = new Map<LookupChannel, Pending[]>();
      raw.forEach((r, i) => {
        const [ch, p] = waiting[i]!;
        if (r !== null) p.settle(decodeValue(ch.kind, p.address, r));
        else unanswered.set(ch, [...(unanswered.get(ch) ?? []), p]);
      });
      // A job can vanish with Redis (FLUSHALL, a failover to a replica that had not seen it, a
      // restart without persistence): nothing would ever answer it. Queue it again.
      for (const [ch, ps] of unanswered) {
        const lost = await ch.lost(ps);
        if (lost.length === 0) continue;
        metrics.requeued.inc({ kind: ch.kind }, lost.length);
        logger.warn({
          msg: "Enrichment jobs lost from Redis; queued again",
          queue: ch.name,
          jobs: lost.length,
        });
        await ch.enqueue(lost);
      }
    } catch (err) {
      logger.debug({ msg: "Enrichment cache poll failed", err: (err as Error).message });
    }
  }

  /** One MGET for every key not in memory; the misses are queued, one addBulk per queue. */
  async function readOrQueue(toRead: [LookupChannel, Pending][]): Promise<void> {
    // Listen before queueing; if the events stream is not up, the cache poll still finds the values.
    await Promise.all(Object.values(channels).map((c) => c.ready.catch(() => undefined)));
    let raw: (string | null)[];
    try {
      raw = await redis.mget(toRead.map(([ch, p]) => keyOf(ch, p.address)));
    } catch (err) {
      for (const [ch, p] of toRead) {
        const why = `${WHAT[ch.kind]} of ${p.address}: Redis unreachable (${(err as Error).message})`;
        p.settle(enrichmentFailure(UNAVAILABLE, why));
      }
      return;
    }
    const misses = new Map<LookupChannel, Pending[]>();
    raw.forEach((r, i) => {
      const [ch, p] = toRead[i]!;
      metrics.cacheLookups.inc({ cache: "redis", kind: ch.kind, result: r === null ? "miss" : "hit" });
      if (r !== null) p.settle(decodeValue(ch.kind, p.address, r));
      else misses.set(ch, [...(misses.get(ch) ?? []), p]);
    });
    await Promise.all([...misses].map(([ch, ps]) => ch.enqueue(ps)));
    if (misses.size > 0) ensurePoller();
  }

  /** Waits for every open lookup until the deadline (or the abort signal). */
  async function waitAll(open: Pending[], remainingMs: number, signal?: AbortSignal): Promise<void> {
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await Promise.race([
      Promise.all(open.map((p) => p.promise)),
      new Promise<void>((r) => (timer = setTimeout(r, remainingMs))),
      new Promise<void>((_, reject) => {
        if (!signal) return;
        onAbort = () => reject(new ShutdownError("Enrichment wait aborted", { cause: signal.reason }));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]).finally(() => {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    });
  }

  return {
    async resolveBatch(txs, { deadlineMs, signal, firstTx = true }) {
      if (closed) throw new ShutdownError("Enricher is closed");
      const started = Date.now();
      const wanted: Record<LookupKind, string[]> = {
        token: [...new Set(txs.flatMap((t) => t.transfers.map((x) => x.token)))],
        firsttx: firstTx ? [...new Set(txs.map((t) => t.from))] : [],
      };
      const results: Record<LookupKind, Map<string, Outcome>> = { token: new Map(), firsttx: new Map() };
      const waits: [LookupChannel, Pending][] = [];
      const toRead: [LookupChannel, Pending][] = [];
      for (const kind of ["token", "firsttx"] as const) {
        const ch = channels[kind];
        for (const address of wanted[kind]) {
          const hit = ch.lru.get(address);
          metrics.cacheLookups.inc({ cache: "memory", kind, result: hit ? "hit" : "miss" });
          if (hit) {
            results[kind].set(address, hit.v);
            continue;
          }
          const { p, fresh } = ch.pending(address);
          if (fresh) toRead.push([ch, p]);
          waits.push([ch, p]);
        }
      }
      if (toRead.length > 0) await readOrQueue(toRead);
      const open = waits.filter(([, p]) => !p.settled).map(([, p]) => p);
      await waitAll(open, Math.max(0, started + deadlineMs - Date.now()), signal);

      const states = new Map<LookupChannel, { text: string; unreachable: boolean }>();
      for (const [ch, p] of waits) {
        if (p.settled) {
          results[ch.kind].set(p.address, p.outcome!);
          continue;
        }
        if (!states.has(ch)) states.set(ch, await ch.describe());
        const state = states.get(ch)!;
        if (state.unreachable)
          throw new InfrastructureError(`Enrichment paused: Redis unreachable (queue ${ch.name})`, {
            code: "ATT_REDIS_UNAVAILABLE",
            dependency: "redis",
          });
        const why = `${WHAT[ch.kind]} of ${p.address} not available within ${deadlineMs} ms: ${state.text}`;
        results[ch.kind].set(p.address, enrichmentFailure("ATT_ENRICHMENT_TIMEOUT", why));
      }
      // A lookup that failed because Redis did not answer says nothing about the transaction:
      // the whole batch is retried once Redis is back (never an INVALID finding).
      for (const kind of ["token", "firsttx"] as const)
        for (const o of results[kind].values())
          if (isEnrichmentFailure(o) && o.code === UNAVAILABLE)
            throw new InfrastructureError(`Enrichment paused: Redis unreachable`, {
              code: "ATT_REDIS_UNAVAILABLE",
              dependency: "redis",
              details: [o.reason],
            });
      return {
        tokens: results.token as ResolvedEnrichment["tokens"],
        firstTx: results.firsttx as ResolvedEnrichment["firstTx"],
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poller);
      for (const u of untrack) u();
      await workers?.close();
      await Promise.all(Object.values(channels).map((c) => c.close()));
    },
  };
}
