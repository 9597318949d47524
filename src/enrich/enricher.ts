import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Registry } from "prom-client";
import type { TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { ShutdownError } from "../kernel/errors.js";
import type { Logger } from "../kernel/logger.js";
import { cacheKey, decodeValue, jobId, queueName, type LookupKind, type LookupValue } from "./keys.js";
import { enrichMetrics, trackQueueDepth } from "./metrics.js";
import type { EnrichConfig } from "./providers/index.js";
import { enrichmentFailure, type EnrichmentFailure, type ResolvedEnrichment } from "./types.js";
import {
  createEnrichWorkers,
  type EnrichJobData,
  type EnrichJobResult,
  type EnrichWorkersDeps,
} from "./worker.js";

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

type Outcome = LookupValue | EnrichmentFailure;

/** One lookup in flight in this process; every batch that needs the key shares it (single flight). */
interface Pending {
  address: string;
  promise: Promise<Outcome>;
  settled: boolean;
  outcome?: Outcome;
  settle(o: Outcome): void;
  startedAt: number;
  /** True once a job was queued (not answered from Redis). */
  queued: boolean;
}

interface Channel {
  kind: LookupKind;
  name: string;
  queue: Queue<EnrichJobData, EnrichJobResult>;
  events: QueueEvents;
  lru: LRUCache<string, { v: LookupValue }>;
  inflight: Map<string, Pending>;
}

const FAILED_REASON = /^(ATT_[A-Z0-9_]+): ([\s\S]*)$/;
const WHAT = { token: "Token metadata", firsttx: "First-transaction time" } as const;

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
  const connections: Redis[] = [];
  const untrack: (() => void)[] = [];

  const channels: Record<LookupKind, Channel> = {
    token: channel("token", e.tokenProvider, e.tokenTtlSec * 1000),
    firsttx: channel("firsttx", e.firstTxProvider, undefined),
  };
  const ready = Promise.all(Object.values(channels).map((c) => c.events.waitUntilReady()));
  ready.catch(() => undefined);
  const workers =
    (deps.workers ?? e.workers === "in-process")
      ? createEnrichWorkers({ ...deps, ...(deps.providers ? { providers: deps.providers } : {}) })
      : undefined;
  let poller: NodeJS.Timeout | undefined;
  let closed = false;

  function channel(kind: LookupKind, provider: string, ttlMs: number | undefined): Channel {
    const name = queueName(kind, provider);
    const queueConn = redis.duplicate();
    const eventsConn = redis.duplicate({ maxRetriesPerRequest: null });
    connections.push(queueConn, eventsConn);
    const queue = new Queue<EnrichJobData, EnrichJobResult>(name, {
      connection: queueConn,
      prefix: deps.queuePrefix,
    });
    const events = new QueueEvents(name, { connection: eventsConn, prefix: deps.queuePrefix });
    const ch: Channel = {
      kind,
      name,
      queue,
      events,
      lru: new LRUCache({ max: e.lruMax, ...(ttlMs ? { ttl: ttlMs } : {}) }),
      inflight: new Map(),
    };
    const idPrefix = jobId(kind, chainId, "");
    // One listener per queue and process, dispatching to the per-key pending lookups.
    events.on("completed", ({ jobId: id, returnvalue }) => {
      const p = ch.inflight.get(id.slice(idPrefix.length));
      if (!p) return;
      const rv = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as EnrichJobResult;
      p.settle(decodeValue(kind, p.address, rv.v));
    });
    events.on("failed", ({ jobId: id, failedReason }) => {
      const p = ch.inflight.get(id.slice(idPrefix.length));
      if (!p) return;
      const m = FAILED_REASON.exec(failedReason ?? "");
      p.settle(
        enrichmentFailure(
          m?.[1] ?? "ATT_ENRICHMENT_FAILED",
          `${WHAT[kind]} of ${p.address} could not be had: ${m?.[2] ?? failedReason}`,
        ),
      );
    });
    events.on("error", (err) =>
      logger.warn({ msg: "Enrichment events stream error", queue: name, err: err.message }),
    );
    untrack.push(
      trackQueueDepth(deps.registry, name, () =>
        queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
      ),
    );
    return ch;
  }

  function newPending(ch: Channel, address: string): Pending {
    let resolve!: (o: Outcome) => void;
    const p: Pending = {
      address,
      promise: new Promise<Outcome>((r) => (resolve = r)),
      settled: false,
      startedAt: performance.now(),
      queued: false,
      settle(o) {
        if (p.settled) return;
        p.settled = true;
        p.outcome = o;
        if (ch.inflight.get(address) === p) ch.inflight.delete(address);
        if (!isFailure(o)) {
          // "No transaction known" may change; a found first transaction never does.
          ch.lru.set(
            address,
            { v: o },
            ch.kind === "firsttx" && o === null ? { ttl: e.firstTxNoneTtlSec * 1000 } : {},
          );
          if (p.queued)
            metrics.resolveSeconds.observe({ kind: ch.kind }, (performance.now() - p.startedAt) / 1000);
        }
        resolve(o);
      },
    };
    return p;
  }

  /** Safety net for missed completion events: re-reads the cache of every queued key. */
  function ensurePoller(): void {
    if (poller || closed) return;
    poller = setInterval(() => void poll(), e.pollMs);
    poller.unref();
  }
  async function poll(): Promise<void> {
    const waiting: [Channel, Pending][] = [];
    const now = performance.now();
    for (const ch of Object.values(channels)) {
      for (const p of ch.inflight.values()) {
        if (!p.queued) continue;
        if (now - p.startedAt > e.maxWaitMs) {
          p.settle(
            enrichmentFailure(
              "ATT_ENRICHMENT_TIMEOUT",
              `${WHAT[ch.kind]} of ${p.address}: no answer from queue ${ch.name} within ${e.maxWaitMs} ms`,
            ),
          );
        } else waiting.push([ch, p]);
      }
    }
    if (waiting.length === 0) {
      clearInterval(poller);
      poller = undefined;
      return;
    }
    try {
      const raw = await redis.mget(
        waiting.map(([ch, p]) => cacheKey(deps.queuePrefix, ch.kind, chainId, p.address)),
      );
      raw.forEach((r, i) => {
        const [ch, p] = waiting[i]!;
        if (r !== null) p.settle(decodeValue(ch.kind, p.address, r));
      });
    } catch (err) {
      logger.warn({ msg: "Enrichment cache poll failed", err: (err as Error).message });
    }
  }

  async function describeQueue(ch: Channel): Promise<string> {
    try {
      const [c, ttl] = await Promise.all([
        ch.queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
        ch.queue.getRateLimitTtl(),
      ]);
      const limited = ttl > 0 ? `; provider rate limit in force for ${ttl} more ms` : "";
      return `queue ${ch.name} has ${(c.waiting ?? 0) + (c.prioritized ?? 0)} waiting, ${c.active ?? 0} active, ${c.delayed ?? 0} retrying${limited}`;
    } catch {
      return `queue ${ch.name} state unknown (Redis unreachable)`;
    }
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
      const waits: [Channel, Pending][] = [];
      const toRead: [Channel, Pending][] = [];
      for (const kind of ["token", "firsttx"] as const) {
        const ch = channels[kind];
        for (const address of wanted[kind]) {
          const hit = ch.lru.get(address);
          metrics.cacheLookups.inc({ cache: "memory", kind, result: hit ? "hit" : "miss" });
          if (hit) {
            results[kind].set(address, hit.v);
            continue;
          }
          let p = ch.inflight.get(address);
          if (!p) {
            p = newPending(ch, address);
            ch.inflight.set(address, p);
            toRead.push([ch, p]);
          }
          waits.push([ch, p]);
        }
      }

      if (toRead.length > 0) {
        // Listen before queueing; if the events stream is not up, the cache poll still finds the values.
        await ready.catch(() => undefined);
        let raw: (string | null)[];
        try {
          raw = await redis.mget(
            toRead.map(([ch, p]) => cacheKey(deps.queuePrefix, ch.kind, chainId, p.address)),
          );
        } catch (err) {
          const f = (what: string) =>
            enrichmentFailure(
              "ATT_ENRICHMENT_UNAVAILABLE",
              `${what}: Redis unreachable (${(err as Error).message})`,
            );
          for (const [ch, p] of toRead) p.settle(f(`${WHAT[ch.kind]} of ${p.address}`));
          raw = [];
        }
        const misses = new Map<Channel, Pending[]>();
        raw.forEach((r, i) => {
          const [ch, p] = toRead[i]!;
          metrics.cacheLookups.inc({ cache: "redis", kind: ch.kind, result: r === null ? "miss" : "hit" });
          if (r !== null) p.settle(decodeValue(ch.kind, p.address, r));
          else misses.set(ch, [...(misses.get(ch) ?? []), p]);
        });
        for (const [ch, ps] of misses) {
          for (const p of ps) p.queued = true;
          try {
            await ch.queue.addBulk(
              ps.map((p) => ({
                name: ch.kind,
                data: { address: p.address, chainId },
                opts: {
                  jobId: jobId(ch.kind, chainId, p.address),
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
                  "ATT_ENRICHMENT_UNAVAILABLE",
                  `${WHAT[ch.kind]} of ${p.address}: could not queue the lookup (${(err as Error).message})`,
                ),
              );
            }
          }
        }
        if (misses.size > 0) ensurePoller();
      }

      const open = waits.filter(([, p]) => !p.settled);
      if (open.length > 0) {
        const remaining = Math.max(0, started + deadlineMs - Date.now());
        let timer: NodeJS.Timeout | undefined;
        let onAbort: (() => void) | undefined;
        await Promise.race([
          Promise.all(open.map(([, p]) => p.promise)),
          new Promise<void>((r) => (timer = setTimeout(r, remaining))),
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

      const late = new Map<Channel, string>();
      for (const [ch, p] of waits) {
        if (p.settled) {
          results[ch.kind].set(p.address, p.outcome!);
          continue;
        }
        if (!late.has(ch)) late.set(ch, await describeQueue(ch));
        results[ch.kind].set(
          p.address,
          enrichmentFailure(
            "ATT_ENRICHMENT_TIMEOUT",
            `${WHAT[ch.kind]} of ${p.address} not available within ${deadlineMs} ms: ${late.get(ch)}`,
          ),
        );
      }
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
      for (const ch of Object.values(channels)) {
        await ch.events.close().catch(() => undefined);
        await ch.queue.close().catch(() => undefined);
      }
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function isFailure(o: Outcome): o is EnrichmentFailure {
  return typeof o === "object" && o !== null && (o as { failed?: unknown }).failed === true;
}
