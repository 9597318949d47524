/**
 * Normalized chain data the ingest stage works with: numbers are JS numbers (block numbers,
 * indexes and timestamps fit), hashes and addresses lower-case hex. `block-source.ts` turns the
 * node's JSON-RPC shapes into these; tests build them from other sources (ethereum-etl files).
 */

export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface BlockTransaction {
  hash: string;
  index: number;
  from: string;
  /** null for a contract creation. */
  to: string | null;
}

export interface LogRecord {
  /** Emitting contract (the token for a Transfer log). */
  address: string;
  topics: string[];
  data: string;
  logIndex: number;
  transactionHash: string;
  transactionIndex: number;
}

/** A block with its transactions and every log of its receipts. */
export interface FetchedBlock extends BlockHeader {
  transactions: BlockTransaction[];
  logs: LogRecord[];
}

/** A block that was published: what the checkpoint remembers about it. */
export interface PublishedBlock {
  number: number;
  hash: string;
  /** Messages (transactions) published for it; 0 = nothing to retract if it is orphaned. */
  txCount: number;
  /** ms wall clock at which it was ingested (the `observedAt` of its messages). */
  observedAt: number;
}
