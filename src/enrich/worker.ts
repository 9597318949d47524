import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { errorCode, isRetryable, RateLimitedError, AttError } from "../kernel/errors.js";
import { isConnectionError } from "../kernel/redis.js";
import type { Logger } from "../kernel/logger.js";
import { createGroupBatcher } from "./batcher.js";
import { cacheKey, encodeValue, queueName, type LookupKind, type LookupValue } from "./keys.js";
import { BAD_ANSWER_CODE } from "../rpc/errors.js";
import { enrichMetrics } from "./metrics.js";
import {
  createFirstTxProvider,
  createTokenProvider,
  DEFAULT_RATE_MAX,
  type EnrichConfig,
} from "./providers/index.js";
import type { FirstTxProvider, TokenMetadataProvider } from "./types.js";

export interface EnrichJobData {
  address: string;
  chainId: number;
}

/** What a job returns (and what QueueEvents hands to every waiting process): the cache encoding. */
export interface EnrichJobResult {
  v: string;
}

export interface EnrichWorkersDeps {
  /** Used for cache reads/writes; the workers get blocking duplicates of it. */
  redis: Redis;
  /** BullMQ key prefix and cache key prefix (ATT_REDIS_PREFIX). */
  queuePrefix: string;
  config: EnrichConfig;
  logger: Logger;
  registry: Registry;
  /** Which queues to serve (default both). */
  kinds?: LookupKind[];
  /** Providers to use instead of the configured ones (tests). */
  providers?: { token?: TokenMetadataProvider; firsttx?: FirstTxProvider };
}

export interface EnrichWorkers {
  readonly queues: string[];
  close(): Promise<void>;
}

/**
 * Error message carried to waiting processes as the job's failedReason: `CODE: message`, with the
 * error's "Got: …" / "Expected: …" lines (a bad answer's reason says what came and what should
 * have), never its URL.
 */
function failureMessage(err: unknown): string {
  if (!(err instanceof AttError))
    return `${errorCode(err)}: ${err instanceof Error ? err.message : String(err)}`;
  const context = err.details.filter((d) => /^(Got|Expected): /.test(d));
  return `${err.code}: ${[err.shortMessage, ...context].join("; ")}`;
}

/** At most one job per `duration / max` ms (+10 %): never more than `max` in any sliding `duration`. */
export function evenlySpaced(max: number, duration: number): { max: number; duration: number } {
  return { max: 1, duration: Math.ceil((duration / max) * 1.1) };
}

/**
 * BullMQ workers for the enrichment queues (`att enrich`, or in process in score/demo):
 *
 * - a global rate limit shared by every worker of the queue in every process (BullMQ counts
 *   jobs started per window in Redis). The configured "max per window" is enforced as one job
 *   per window/max (+10 % for network jitter): BullMQ's window is fixed, so `{ max, duration }`
 *   lets 2×max requests through in a sliding window that straddles a boundary (measured by
 *   bench/enrichment.ts: 6 req/s at a 3/s Etherscan limit); evenly spaced starts cannot;
 * - a provider's "rate limit reached" answer pauses the whole queue (`worker.rateLimit(ms)`)
 *   and puts the job back without spending an attempt (`Worker.RateLimitError()`);
 * - transient errors are retried with exponential backoff (set on the job by the enqueuer);
 *   permanent ones fail at once (`UnrecoverableError`). An answer in a shape we do not know
 *   (ATT_PROVIDER_BAD_ANSWER) is transient: counted, retried, and never written to the cache;
 * - the cache is read first (a value may have arrived since the job was queued) and written
 *   before the job completes, so a process that misses the completion event finds it in Redis.
 */
export function createEnrichWorkers(deps: EnrichWorkersDeps): EnrichWorkers {
  const { config, redis, logger } = deps;
  const e = config.enrich;
  const chainId = config.chain.chainId;
  const metrics = enrichMetrics(deps.registry);
  const kinds = deps.kinds ?? ["token", "firsttx"];
  const workers: Worker<EnrichJobData, EnrichJobResult>[] = [];
  const connections: Redis[] = [];
  /** Bad answers already counted: one JSON-RPC batch answer fails every token job it served. */
  const countedBadAnswers = new WeakSet<object>();

  for (const kind of kinds) {
    const provider: TokenMetadataProvider | FirstTxProvider =
      kind === "token"
        ? (deps.providers?.token ?? createTokenProvider(config))
        : (deps.providers?.firsttx ?? createFirstTxProvider(config));
    const name = queueName(kind, provider.name);
    const max = (kind === "token" ? e.tokenRateMax : e.firstTxRateMax) ?? DEFAULT_RATE_MAX[provider.name];
    const duration = kind === "token" ? e.tokenRateWindowMs : e.firstTxRateWindowMs;

    const lookup: (address: string) => Promise<LookupValue> =
      kind === "token"
        ? createGroupBatcher({
            maxSize: provider.name === "rpc" ? e.rpcBatchMax : 1,
            waitMs: provider.name === "rpc" ? e.rpcBatchWaitMs : 0,
            run: (addresses: string[]) => (provider as TokenMetadataProvider).fetch(addresses),
          })
        : (address) => (provider as FirstTxProvider).fetch(address);

    const outcomeOf = (v: LookupValue): string =>
      v === null ? "none" : typeof v === "object" && v.kind === "not-erc20" ? "not_token" : "ok";

    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    // Reported once by the process's main client (kernel/redis.ts); here only at debug.
    connection.on("error", (err: Error) =>
      logger.debug({ msg: "Redis connection error", queue: name, err: err.message }),
    );
    connections.push(connection);
    const worker: Worker<EnrichJobData, EnrichJobResult> = new Worker<EnrichJobData, EnrichJobResult>(
      name,
      async (job: Job<EnrichJobData, EnrichJobResult>) => {
        if (job.data.chainId !== chainId) {
          // Queue names do not carry the chain: two deployments on one prefix must not mix answers.
          throw new UnrecoverableError(
            `ATT_ENRICH_CHAIN_MISMATCH: a worker for chain ${chainId} got a job for chain ${job.data.chainId}; give each chain its own ATT_REDIS_PREFIX`,
          );
        }
        const key = cacheKey(deps.queuePrefix, kind, chainId, job.data.address);
        const cached = await redis.get(key);
        if (cached !== null) return { v: cached };
        let value: LookupValue;
        try {
          value = await lookup(job.data.address);
        } catch (err) {
          if (err instanceof RateLimitedError) {
            metrics.apiCalls.inc({ provider: provider.name, outcome: "rate_limited" });
            metrics.rateLimitWaits.inc({ provider: provider.name });
            metrics.rateLimitWaitSeconds.inc({ provider: provider.name }, err.retryAfterMs / 1000);
            logger.warn({
              msg: "Provider rate limit reached, pausing queue",
              queue: name,
              pause_ms: err.retryAfterMs,
              resume_at: new Date(Date.now() + err.retryAfterMs).toISOString(),
              reason: err.message,
            });
            await worker.rateLimit(err.retryAfterMs);
            throw Worker.RateLimitError();
          }
          const retry = isRetryable(err);
          if (errorCode(err) === BAD_ANSWER_CODE && !countedBadAnswers.has(err as object)) {
            countedBadAnswers.add(err as object);
            metrics.badAnswers.inc({ provider: provider.name });
          }
          metrics.apiCalls.inc({
            provider: provider.name,
            outcome: retry ? "retryable_error" : "permanent_error",
          });
          logger.warn({
            msg: "Enrichment lookup failed",
            queue: name,
            address: job.data.address,
            attempt: job.attemptsMade + 1,
            retryable: retry,
            code: errorCode(err),
            err: failureMessage(err),
          });
          throw retry ? new Error(failureMessage(err)) : new UnrecoverableError(failureMessage(err));
        }
        metrics.apiCalls.inc({ provider: provider.name, outcome: outcomeOf(value) });
        const encoded = encodeValue(kind, value);
        const ttl = kind === "token" ? e.tokenTtlSec : value === null ? e.firstTxNoneTtlSec : undefined;
        if (ttl === undefined) await redis.set(key, encoded);
        else await redis.set(key, encoded, "EX", ttl);
        return { v: encoded };
      },
      {
        connection,
        prefix: deps.queuePrefix,
        concurrency: e.concurrency,
        limiter: evenlySpaced(max, duration),
      },
    );
    // Connection errors repeat on every reconnect attempt; the connection's own watcher reports the outage once.
    worker.on("error", (err) =>
      (isConnectionError(err) ? logger.debug : logger.warn).call(logger, {
        msg: "Enrichment worker error",
        queue: name,
        err: err.message,
      }),
    );
    workers.push(worker);
    logger.info({
      msg: "Enrichment worker started",
      queue: name,
      rate_max: max,
      rate_window_ms: duration,
      concurrency: e.concurrency,
    });
  }

  let closing: Promise<void> | undefined;
  return {
    queues: workers.map((w) => w.name),
    close: () =>
      (closing ??= (async () => {
        // close() waits for running jobs; the connections we passed in are ours to quit.
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      })()),
  };
}
