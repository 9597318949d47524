import { int, optional, str } from "./option.js";

/** The ingest stage (`att ingest`, docs/ingest.md). */
export const ingestOptions = {
  confirmations: optional(
    int(
      "ATT_INGEST_CONFIRMATIONS",
      undefined,
      "Blocks a block must be buried under before it is published (0 = publish the head). Unset = 0 on local dev chains (31337, 1337), 2 elsewhere; mainnet typically 2-12.",
      { min: 0, max: 1000 },
    ),
  ),
  fromBlock: optional(
    int(
      "ATT_INGEST_FROM_BLOCK",
      undefined,
      "Start at this block instead of the checkpoint, once: the checkpoint records the value applied, so a restart or a standby with the same value resumes after the checkpoint; a different value is applied once again. Blocks after it already published are published again. Unset: resume after the checkpoint, or start at the confirmed head when there is none.",
      { min: 0 },
    ),
  ),
  topicCheckpoint: str(
    "ATT_INGEST_CHECKPOINT_TOPIC",
    "att.ingest-checkpoint.v1",
    "Compacted topic holding the last published block per chain, written in the same Kafka transaction as the block's messages.",
    { pattern: /^[a-zA-Z0-9._-]{1,249}$/ },
  ),
  transactionalId: optional(
    str(
      "ATT_INGEST_TRANSACTIONAL_ID",
      undefined,
      "Kafka transactional.id; one per chain so that a zombie ingester is fenced (unset: att-ingest-<chainId>).",
      { pattern: /^[a-zA-Z0-9._-]{1,200}$/ },
    ),
  ),
  fetchConcurrency: int(
    "ATT_INGEST_FETCH_CONCURRENCY",
    8,
    "Blocks fetched in parallel while catching up (they are still published strictly in order).",
    { min: 1, max: 256 },
  ),
  maxBlocksInFlight: int(
    "ATT_INGEST_MAX_BLOCKS_IN_FLIGHT",
    64,
    "Cap on blocks fetched but not yet published (bounds memory during backfill).",
    { min: 1, max: 10_000 },
  ),
  receiptConcurrency: int(
    "ATT_INGEST_RECEIPT_CONCURRENCY",
    8,
    "Parallel eth_getTransactionReceipt calls per block when the node lacks eth_getBlockReceipts.",
    { min: 1, max: 256 },
  ),
  maxBlocksPerTransaction: int(
    "ATT_INGEST_MAX_BLOCKS_PER_TXN",
    50,
    "While catching up, up to this many already-fetched blocks share one Kafka transaction (at the head: one block each).",
    { min: 1, max: 10_000 },
  ),
  pollIntervalMs: int(
    "ATT_INGEST_POLL_INTERVAL_MS",
    2_000,
    "While the WebSocket is down, how often the head is polled over HTTP.",
    { min: 10, max: 600_000 },
  ),
  headRecheckMs: int(
    "ATT_INGEST_HEAD_RECHECK_MS",
    15_000,
    "With the WebSocket up, the head is still checked over HTTP this often (a lost notification cannot stall ingest).",
    { min: 100, max: 3_600_000 },
  ),
  wsHeartbeatMs: int(
    "ATT_INGEST_WS_HEARTBEAT_MS",
    5_000,
    "WebSocket ping interval; a socket that has not answered the previous ping is declared dead and replaced.",
    { min: 50, max: 600_000 },
  ),
  reconnectBaseMs: int(
    "ATT_INGEST_RECONNECT_BASE_MS",
    500,
    "First WebSocket reconnect delay; doubles per failed attempt, with jitter.",
    { min: 1, max: 600_000 },
  ),
  reconnectMaxMs: int("ATT_INGEST_RECONNECT_MAX_MS", 30_000, "Longest WebSocket reconnect delay.", {
    min: 1,
    max: 3_600_000,
  }),
  rpcRetries: int(
    "ATT_INGEST_RPC_RETRIES",
    3,
    "Retries of one failed JSON-RPC request (with backoff) before the block fetch fails and is retried as a whole.",
    { min: 0, max: 100 },
  ),
  retryMaxMs: int(
    "ATT_INGEST_RETRY_MAX_MS",
    30_000,
    "Longest delay between retries of a block that cannot be fetched or published (progress stops meanwhile).",
    { min: 10, max: 3_600_000 },
  ),
  recentBlocks: int(
    "ATT_INGEST_RECENT_BLOCKS",
    128,
    "Published block hashes kept in the checkpoint to detect reorgs (also after a restart); the deepest reorg handled.",
    { min: 2, max: 10_000 },
  ),
  leaseTtlMs: int(
    "ATT_INGEST_LEASE_TTL_MS",
    10_000,
    "Redis lease time-to-live; a standby takes over at most TTL + poll interval after the active ingester dies.",
    { min: 100, max: 600_000 },
  ),
  leasePollMs: int("ATT_INGEST_LEASE_POLL_MS", 1_000, "How often a standby tries to take the lease.", {
    min: 10,
    max: 600_000,
  }),
  journalTtlMs: int(
    "ATT_INGEST_JOURNAL_TTL_MS",
    3_600_000,
    "How long the published messages of a block are kept in Redis to announce them `removed` after a deep reorg.",
    { min: 1_000 },
  ),
  progressIntervalMs: int(
    "ATT_INGEST_PROGRESS_INTERVAL_MS",
    10_000,
    "Backfill progress: interval of the log line when stderr is not a terminal.",
    { min: 100, max: 3_600_000 },
  ),
};
