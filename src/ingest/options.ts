import type { Config } from "../kernel/config/index.js";

/**
 * Everything an ingester needs to know, resolved from configuration (see
 * `ingestOptionsFromConfig`) or given directly by tests and the demo.
 */
export interface IngesterOptions {
  /** Expected chain id; the node must report the same one. */
  chainId: number;
  /** JSON-RPC over HTTP: every data request, and head polling while the socket is down. */
  rpcHttpUrl: string;
  /** JSON-RPC over WebSocket for newHeads; undefined = polling only. */
  rpcWsUrl: string | undefined;
  rpcTimeoutMs: number;
  /** undefined = 0 on dev chains (31337, 1337), 2 elsewhere. */
  confirmations: number | undefined;
  /** Start here instead of the checkpoint (applies until this process first commits). */
  fromBlock: number | undefined;
  topicTransfers: string;
  topicCheckpoint: string;
  /** undefined = `att-ingest-<chainId>`. */
  transactionalId: string | undefined;
  /** Redis key prefix; lease at `<prefix>:ingest:<chainId>:lease`, journal under `…:journal:`. */
  redisPrefix: string;
  fetchConcurrency: number;
  maxBlocksInFlight: number;
  receiptConcurrency: number;
  maxBlocksPerTransaction: number;
  pollIntervalMs: number;
  headRecheckMs: number;
  wsHeartbeatMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  rpcRetries: number;
  retryMaxMs: number;
  recentBlocks: number;
  leaseTtlMs: number;
  leasePollMs: number;
  journalTtlMs: number;
  progressIntervalMs: number;
}

export const DEV_CHAIN_IDS = new Set([31337, 1337]);

export function defaultConfirmations(chainId: number): number {
  return DEV_CHAIN_IDS.has(chainId) ? 0 : 2;
}

export function ingestOptionsFromConfig(config: Config): IngesterOptions {
  const i = config.ingest;
  return {
    chainId: config.chain.chainId,
    rpcHttpUrl: config.chain.rpcHttpUrl,
    rpcWsUrl: config.chain.rpcWsUrl,
    rpcTimeoutMs: config.chain.rpcTimeoutMs,
    confirmations: i.confirmations,
    fromBlock: i.fromBlock,
    topicTransfers: config.kafka.topicTransfers,
    topicCheckpoint: i.topicCheckpoint,
    transactionalId: i.transactionalId,
    redisPrefix: config.redis.keyPrefix,
    fetchConcurrency: i.fetchConcurrency,
    maxBlocksInFlight: i.maxBlocksInFlight,
    receiptConcurrency: i.receiptConcurrency,
    maxBlocksPerTransaction: i.maxBlocksPerTransaction,
    pollIntervalMs: i.pollIntervalMs,
    headRecheckMs: i.headRecheckMs,
    wsHeartbeatMs: i.wsHeartbeatMs,
    reconnectBaseMs: i.reconnectBaseMs,
    reconnectMaxMs: i.reconnectMaxMs,
    rpcRetries: i.rpcRetries,
    retryMaxMs: i.retryMaxMs,
    recentBlocks: i.recentBlocks,
    leaseTtlMs: i.leaseTtlMs,
    leasePollMs: i.leasePollMs,
    journalTtlMs: i.journalTtlMs,
    progressIntervalMs: i.progressIntervalMs,
  };
}
