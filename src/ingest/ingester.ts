import type { Redis } from "ioredis";
import { ConfigError, errorCode, ValidationError } from "../kernel/errors.js";
import type { Kafka } from "../kernel/kafka/index.js";
import type { Logger } from "../kernel/logger.js";
import type { Registry } from "../kernel/metrics.js";
import { backoffDelay, withRetry } from "../kernel/retry.js";
import { sleep } from "../kernel/shutdown.js";
import { createRpcClient } from "../rpc/client.js";
import { createWsConnection } from "../rpc/ws.js";
import { createBlockSource } from "./block-source.js";
import { LeaseLostError, ProducerFencedError, ReorgTooDeepError } from "./errors.js";
import { createHeadTrigger, type HeadTrigger } from "./heads.js";
import { createRedisJournal, type Journal } from "./journal.js";
import { createLease } from "./lease.js";
import { createIngestMetrics, setRole, type IngestRole } from "./metrics.js";
import { defaultConfirmations, type IngesterOptions } from "./options.js";
import { createHeadObserver } from "./reorg.js";
import { runSession, type SessionStatus } from "./session.js";
import type { BlockHeader } from "./types.js";

export interface IngesterDeps {
  options: IngesterOptions;
  /** kafkajs client (kernel `createKafka`); topics must exist (see `ensureIngestTopics`). */
  kafka: Kafka;
  /** Redis for the lease and the journal of recently published messages. */
  redis: Redis;
  logger: Logger;
  /** Where metrics go; give each in-process ingester its own registry. */
  registry: Registry;
  /** Journal override (default: Redis, `<redisPrefix>:ingest:<chainId>:journal:<blockHash>`). */
  journal?: Journal;
  /** Backfill progress output (default process.stderr; a live line only on a TTY). */
  progressStream?: NodeJS.WriteStream;
}

export interface IngesterStatus extends SessionStatus {
  role: IngestRole;
  fencingToken: number | undefined;
  wsState: "connecting" | "open" | "closed" | "disabled";
  confirmations: number | undefined;
}

export interface Ingester {
  /**
   * Runs until `signal` aborts: waits as standby until it holds the lease, then publishes.
   * Resolves after a clean stop (lease released, producer disconnected, in-flight Kafka
   * transaction finished or aborted). Rejects only on a fatal error (wrong chain, reorg deeper
   * than the remembered blocks, corrupt checkpoint).
   */
  run(signal: AbortSignal): Promise<void>;
  status(): IngesterStatus;
  /** /readyz: active and caught up with the confirmed head, or a healthy standby. */
  ready(): boolean;
}

function isFatal(err: unknown): boolean {
  return err instanceof ReorgTooDeepError || err instanceof ConfigError || err instanceof ValidationError;
}

/**
 * The ingest stage as a component: WebSocket heads as a trigger, blocks and receipts over
 * HTTP, ERC-20 transfers per transaction to Kafka with the checkpoint in the same
 * transaction, reorg handling, backfill, and the Redis lease for one-active-per-chain.
 *
 * @example
 *   const ingester = createIngester({ options: ingestOptionsFromConfig(config), kafka, redis, logger, registry });
 *   await ingester.run(shutdown.signal);
 */
export function createIngester(deps: IngesterDeps): Ingester {
  const o = deps.options;
  const logger = deps.logger;
  const status: IngesterStatus = {
    role: "starting",
    fencingToken: undefined,
    wsState: o.rpcWsUrl ? "connecting" : "disabled",
    confirmations: o.confirmations,
    head: undefined,
    published: undefined,
    caughtUp: false,
  };
  const metrics = createIngestMetrics(deps.registry, {
    behind: () =>
      status.head !== undefined && status.published !== undefined
        ? status.head - status.published.number
        : undefined,
  });
  const setStatusRole = (role: IngestRole) => {
    status.role = role;
    setRole(metrics, role);
  };
  setStatusRole("starting");
  const lease = createLease({
    redis: deps.redis,
    key: `${o.redisPrefix}:ingest:${o.chainId}:lease`,
    ttlMs: o.leaseTtlMs,
    pollMs: o.leasePollMs,
    logger,
    onStateChange: (s) => {
      if (s === "standby") setStatusRole("standby");
    },
  });
  const journal =
    deps.journal ??
    createRedisJournal({
      redis: deps.redis,
      prefix: o.redisPrefix,
      chainId: o.chainId,
      ttlMs: o.journalTtlMs,
    });

  const runInner = async (signal: AbortSignal) => {
    const http = createRpcClient(o.rpcHttpUrl, { timeoutMs: o.rpcTimeoutMs });
    const source = createBlockSource({
      rpc: http,
      receiptConcurrency: o.receiptConcurrency,
      retries: o.rpcRetries,
      retryMaxMs: o.retryMaxMs,
      logger,
      onRpcError: (method, code) => metrics.rpcErrors.inc({ method, code }),
    });

    // The node must be the chain we were told; a wrong one is a configuration error, not a retry.
    const nodeChainId = Number(
      await withRetry(() => http.call<string>("eth_chainId", [], { signal }), {
        retries: 1_000_000,
        baseMs: 250,
        maxMs: o.retryMaxMs,
        signal,
        onRetry: (err, attempt, delay) => {
          metrics.rpcErrors.inc({ method: "eth_chainId", code: "unreachable" });
          logger.warn({
            msg: "Node not reachable yet",
            endpoint: http.endpoint,
            retry_count: attempt,
            retry_delay: delay,
            err: String(err),
          });
        },
      }),
    );
    if (nodeChainId !== o.chainId) {
      throw new ConfigError(`The node is chain ${nodeChainId}, but the configuration says ${o.chainId}`, {
        details: [
          `Endpoint: ${http.endpoint}`,
          "Fix: set ATT_CHAIN_ID to the node's chain id, or point ATT_RPC_HTTP_URL at the right node.",
        ],
      });
    }
    const confirmations = o.confirmations ?? defaultConfirmations(o.chainId);
    status.confirmations = confirmations;

    // The trigger needs the socket and the socket's "open" wakes the trigger.
    const triggerRef: { current?: HeadTrigger } = {};
    const ws = o.rpcWsUrl
      ? createWsConnection({
          url: o.rpcWsUrl,
          timeoutMs: o.rpcTimeoutMs,
          heartbeatMs: o.wsHeartbeatMs,
          reconnectBaseMs: o.reconnectBaseMs,
          reconnectMaxMs: o.reconnectMaxMs,
          logger,
          onReconnect: () => metrics.reconnects.inc(),
          onStateChange: (s) => {
            status.wsState = s;
            metrics.wsConnected.set(s === "open" ? 1 : 0);
            // Re-evaluate at once: catch up after a reconnect; switch to polling after a close.
            if (s !== "connecting") triggerRef.current?.wake();
          },
        })
      : undefined;
    const observer = createHeadObserver();
    // Every head seen, pushed over the socket or polled, feeds the reorg observer.
    const observeHead = (head: BlockHeader) => {
      const depth = observer.observe(head);
      if (depth > 0 && (status.published === undefined || head.number > status.published.number)) {
        metrics.reorgs.inc({ kind: "unconfirmed" });
        logger.info({
          msg: "Chain reorganisation within the confirmation depth (nothing published was affected)",
          depth,
          block_number: head.number,
          block_hash: head.hash,
        });
      }
    };
    const trigger = createHeadTrigger({
      ws,
      pollIntervalMs: o.pollIntervalMs,
      headRecheckMs: o.headRecheckMs,
      onHead: observeHead,
    });
    triggerRef.current = trigger;

    try {
      while (!signal.aborted) {
        let acquired: { fencingToken: number; lost: AbortSignal };
        try {
          acquired = await lease.acquire(signal);
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
        status.fencingToken = acquired.fencingToken;
        metrics.fencingToken.set(acquired.fencingToken);
        setStatusRole("active");
        const active = AbortSignal.any([signal, acquired.lost]);
        let failures = 0;
        try {
          while (!active.aborted) {
            try {
              await runSession(
                {
                  options: o,
                  chainId: o.chainId,
                  confirmations,
                  fencingToken: acquired.fencingToken,
                  kafka: deps.kafka,
                  source,
                  trigger,
                  journal,
                  lease,
                  logger,
                  metrics,
                  status,
                  observeHead,
                  ...(deps.progressStream ? { progressStream: deps.progressStream } : {}),
                },
                active,
              );
            } catch (err) {
              if (active.aborted) break;
              if (isFatal(err)) {
                logger.fatal({
                  msg: "Ingest stopped by a fatal error",
                  code: errorCode(err),
                  err: String(err),
                });
                throw err;
              }
              if (err instanceof LeaseLostError || err instanceof ProducerFencedError) {
                logger.warn({ msg: "Another ingester took over; back to standby", err: err.message });
                break;
              }
              failures += 1;
              const delay = backoffDelay(failures, 250, o.retryMaxMs);
              logger.error({
                msg: "Ingest session failed; resuming from the committed checkpoint",
                retry_count: failures,
                retry_delay: delay,
                err: err instanceof Error ? err.message : String(err),
              });
              await sleep(delay, active).catch(() => undefined);
            }
          }
        } finally {
          status.caughtUp = false;
          status.fencingToken = undefined;
          metrics.fencingToken.set(0);
          await lease.release();
          setStatusRole(signal.aborted ? "stopped" : "standby");
        }
      }
    } finally {
      trigger.close();
      ws?.close();
      setStatusRole("stopped");
      logger.info({ msg: "Ingester stopped", published_block: status.published?.number });
    }
  };

  const run = async (signal: AbortSignal) => {
    try {
      await runInner(signal);
    } catch (err) {
      // Stopped while still starting (node unreachable, waiting for the lease): a clean stop.
      if (signal.aborted && !isFatal(err)) return;
      throw err;
    } finally {
      setStatusRole("stopped");
    }
  };

  return {
    run,
    status: () => ({ ...status }),
    ready: () =>
      (status.role === "active" && status.caughtUp) || (status.role === "standby" && lease.healthy),
  };
}
