import { Counter, Gauge, type Registry } from "../kernel/metrics.js";

export type IngestRole = "starting" | "standby" | "active" | "stopped";

/**
 * The ingest stage's Prometheus metrics, registered on the given registry (the runtime's, or
 * a fresh one per ingester in tests). Labels stay low-cardinality: method names, error codes,
 * fixed kinds.
 */
export function createIngestMetrics(registry: Registry, read: { behind: () => number | undefined }) {
  const registers = [registry];
  return {
    headBlock: new Gauge({ name: "att_ingest_head_block", help: "Latest head block number seen", registers }),
    publishedBlock: new Gauge({
      name: "att_ingest_published_block",
      help: "Number of the last block published (checkpoint)",
      registers,
    }),
    blocksBehind: new Gauge({
      name: "att_ingest_blocks_behind_head",
      help: "Head minus the last published block (includes the confirmation depth)",
      registers,
      collect() {
        const v = read.behind();
        if (v !== undefined) this.set(v);
      },
    }),
    blocksPublished: new Counter({
      name: "att_ingest_blocks_published_total",
      help: "Blocks published (their messages and checkpoint committed)",
      registers,
    }),
    txsPublished: new Counter({
      name: "att_ingest_transactions_published_total",
      help: "TokenTransferTx messages published",
      registers,
    }),
    transfersPublished: new Counter({
      name: "att_ingest_transfers_published_total",
      help: "ERC-20 transfers published",
      registers,
    }),
    removedPublished: new Counter({
      name: "att_ingest_removed_transactions_total",
      help: "removed:true messages published for transactions orphaned by a reorg",
      registers,
    }),
    orphansUnannounced: new Counter({
      name: "att_ingest_orphans_unannounced_total",
      help: "Orphaned published transactions that could not be announced removed (journal and node both lacked them)",
      registers,
    }),
    kafkaTransactions: new Counter({
      name: "att_ingest_kafka_transactions_total",
      help: "Kafka transactions by result",
      labelNames: ["result"] as const,
      registers,
    }),
    reconnects: new Counter({
      name: "att_ingest_ws_reconnects_total",
      help: "WebSocket reconnect attempts",
      registers,
    }),
    wsConnected: new Gauge({
      name: "att_ingest_ws_connected",
      help: "1 while the WebSocket is open",
      registers,
    }),
    reorgs: new Counter({
      name: "att_ingest_reorgs_total",
      help: "Chain reorganisations: kind=published (below published blocks: removals sent) or unconfirmed (within the confirmation depth)",
      labelNames: ["kind"] as const,
      registers,
    }),
    malformedLogs: new Counter({
      name: "att_ingest_malformed_logs_total",
      help: "Logs with the Transfer topic0 skipped as malformed",
      labelNames: ["reason"] as const,
      registers,
    }),
    backfillRemaining: new Gauge({
      name: "att_ingest_backfill_remaining_blocks",
      help: "Blocks left in the current catch-up (0 when at the head)",
      registers,
    }),
    backfillBlocks: new Counter({
      name: "att_ingest_backfill_blocks_total",
      help: "Blocks published while catching up (more than one block behind)",
      registers,
    }),
    rpcErrors: new Counter({
      name: "att_ingest_rpc_errors_total",
      help: "Failed JSON-RPC request attempts by method and error code",
      labelNames: ["method", "code"] as const,
      registers,
    }),
    blockFailures: new Counter({
      name: "att_ingest_block_failures_total",
      help: "Times progress stopped on a block that could not be fetched or published (it is retried)",
      labelNames: ["stage"] as const,
      registers,
    }),
    role: new Gauge({
      name: "att_ingest_role",
      help: "Lease state: 1 for the current role (starting, standby, active, stopped)",
      labelNames: ["role"] as const,
      registers,
    }),
    fencingToken: new Gauge({
      name: "att_ingest_fencing_token",
      help: "Fencing token of the lease held (0 when standby)",
      registers,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function setRole(m: IngestMetrics, role: IngestRole): void {
  for (const r of ["starting", "standby", "active", "stopped"] as const)
    m.role.set({ role: r }, r === role ? 1 : 0);
}
