import { Counter, Gauge, Histogram, type Registry } from "prom-client";

type DepthSource = () => Promise<Record<string, number>>;

/** Metrics of the enrichment stage, registered once per registry (several enrichers may share one). */
export interface EnrichMetrics {
  apiCalls: Counter<"provider" | "outcome">;
  /** Provider answers in a shape we do not know (ATT_PROVIDER_BAD_ANSWER), one per answer. */
  badAnswers: Counter<"provider">;
  /** Lookups queued again because their job vanished from Redis. */
  requeued: Counter<"kind">;
  rateLimitWaits: Counter<"provider">;
  rateLimitWaitSeconds: Counter<"provider">;
  cacheLookups: Counter<"cache" | "kind" | "result">;
  /** hit / (hit + miss) per cache since start, computed from cacheLookups at scrape time. */
  cacheHitRatio: Gauge<"cache">;
  resolveSeconds: Histogram<"kind">;
  queueDepth: Gauge<"queue" | "state">;
  /** Queues whose job counts the depth gauge reads at scrape time. */
  depthSources: Map<string, DepthSource>;
}

const byRegistry = new WeakMap<Registry, EnrichMetrics>();

export function enrichMetrics(registry: Registry): EnrichMetrics {
  const hit = byRegistry.get(registry);
  if (hit) return hit;
  const registers = [registry];
  const depthSources = new Map<string, DepthSource>();
  const cacheLookups = new Counter({
    name: "att_enrich_cache_lookups_total",
    help: "Cache lookups by cache (memory = in-process LRU, redis = shared) and result (hit, miss).",
    labelNames: ["cache", "kind", "result"],
    registers,
  });
  const m: EnrichMetrics = {
    depthSources,
    cacheLookups,
    apiCalls: new Counter({
      name: "att_enrich_api_calls_total",
      help: "Provider calls by provider and outcome (ok, none, not_token, rate_limited, retryable_error, permanent_error).",
      labelNames: ["provider", "outcome"],
      registers,
    }),
    requeued: new Counter({
      name: "att_enrich_jobs_requeued_total",
      help: "Enrichment lookups queued again because their job was gone from Redis (flush, failover, restart without persistence).",
      labelNames: ["kind"],
      registers,
    }),
    badAnswers: new Counter({
      name: "att_enrich_bad_answers_total",
      help: "Provider answers in a shape we do not know (wrong type, missing field, not JSON): retried, never cached. One per answer, even when a JSON-RPC batch served several lookups.",
      labelNames: ["provider"],
      registers,
    }),
    rateLimitWaits: new Counter({
      name: "att_enrich_rate_limit_waits_total",
      help: "Queue-wide pauses after a provider answered 'rate limit reached'.",
      labelNames: ["provider"],
      registers,
    }),
    rateLimitWaitSeconds: new Counter({
      name: "att_enrich_rate_limit_wait_seconds_total",
      help: "Seconds of queue-wide pause asked for after rate-limit answers.",
      labelNames: ["provider"],
      registers,
    }),
    cacheHitRatio: new Gauge({
      name: "att_enrich_cache_hit_ratio",
      help: "Cache hits / lookups since start, per cache (memory = in-process LRU, redis = shared).",
      labelNames: ["cache"],
      registers,
      async collect() {
        const totals = new Map<string, { hit: number; all: number }>();
        for (const v of (await cacheLookups.get()).values) {
          const t = totals.get(String(v.labels.cache)) ?? { hit: 0, all: 0 };
          t.all += v.value;
          if (v.labels.result === "hit") t.hit += v.value;
          totals.set(String(v.labels.cache), t);
        }
        for (const [cache, t] of totals) if (t.all > 0) this.set({ cache }, t.hit / t.all);
      },
    }),
    resolveSeconds: new Histogram({
      name: "att_enrich_resolve_seconds",
      help: "Time from a queued cache miss to its value (queue wait + provider call).",
      labelNames: ["kind"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    queueDepth: new Gauge({
      name: "att_enrich_queue_jobs",
      help: "Jobs in each enrichment queue by state, read from Redis at scrape time.",
      labelNames: ["queue", "state"],
      registers,
      // Computed at scrape time; a failing Redis leaves the last values.
      async collect() {
        for (const [name, read] of depthSources) {
          try {
            for (const [state, n] of Object.entries(await read())) this.set({ queue: name, state }, n);
          } catch {
            /* keep the last values */
          }
        }
      },
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

/** Adds a queue to the scrape-time depth gauge; returns a function that removes it. */
export function trackQueueDepth(registry: Registry, queue: string, counts: DepthSource): () => void {
  const m = enrichMetrics(registry);
  m.depthSources.set(queue, counts);
  return () => void m.depthSources.delete(queue);
}
