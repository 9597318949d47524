import type { Kafka, Producer } from "kafkajs";
import type { TokenTransferTx } from "../../../src/contracts/token-transfer-tx.js";
import { sleep } from "../../../src/kernel/shutdown.js";
import { followFindings } from "../findings.js";

/** One finding read back: the input partition of its transaction, when it was sent and read. */
export interface Arrival {
  partition: number;
  sentAt: number;
  at: number;
}

export interface SteadyStream {
  /** Starts sending `rate` tx/s (round-robin over the partitions, fresh observedAt stamps). */
  start(): void;
  /** Stops sending; resolves once every send was acknowledged. */
  stop(): Promise<void>;
  /** Waits until every sent transaction's finding was read, or `timeoutMs` passed. */
  drain(timeoutMs: number, onWait?: (missing: number) => void): Promise<void>;
  close(): Promise<void>;
  readonly arrivals: Arrival[];
  sent(): number;
  /** Sent transactions whose finding was not read (yet). */
  missing(): number;
  /** Findings read more than once (a read_committed reader must see none). */
  duplicates(): number;
  /** Send times, by partition, of the transactions sent so far (Date.now()). */
  readonly sentAt: Map<string, { partition: number; sentAt: number }>;
}

/**
 * A steady transfer stream into a topic and a read_committed reader of the findings topic that
 * stamps each finding on arrival, keyed back to the input partition of its transaction (each
 * transaction is produced to an explicit partition, round-robin), so that a stall of one input
 * partition shows as a gap between its findings.
 */
export async function steadyStream(o: {
  kafka: Kafka;
  producer: Producer;
  transfers: string;
  findings: string;
  partitions: number;
  /** Sent in a loop, each time under a new hash (their senders' enrichment must be cached). */
  txs: TokenTransferTx[];
  rate: number;
}): Promise<SteadyStream> {
  const sentAt = new Map<string, { partition: number; sentAt: number }>();
  const seen = new Set<string>();
  const arrivals: Arrival[] = [];
  let duplicates = 0;
  const reader = await followFindings(o.kafka, o.findings, "bench-failover-reader", (value, at) => {
    const f = JSON.parse(value.toString()) as {
      alertId?: string;
      source?: { transactions?: { hash: string }[] };
    };
    const hash = f.source?.transactions?.[0]?.hash;
    const s = hash ? sentAt.get(hash) : undefined;
    if (!s) return;
    if (seen.has(hash!)) {
      duplicates += 1;
      return;
    }
    seen.add(hash!);
    arrivals.push({ partition: s.partition, sentAt: s.sentAt, at });
  });

  let sending: Promise<void> | undefined;
  let running = false;
  let sent = 0;
  return {
    arrivals,
    sentAt,
    sent: () => sent,
    missing: () => sent - seen.size,
    duplicates: () => duplicates,
    start() {
      running = true;
      sending = (async () => {
        const t0 = performance.now();
        const inflight: Promise<unknown>[] = [];
        while (running) {
          // At most 500 per request: a sender that fell behind must not build one over the broker's limit.
          const due = Math.min(sent + 500, Math.floor(((performance.now() - t0) / 1000) * o.rate));
          if (due > sent) {
            const messages: { key: string; partition: number; value: string }[] = [];
            for (let seq = sent; seq < due; seq++) {
              // The transactions again and again, each time under a hash of its own.
              const tx = o.txs[seq % o.txs.length]!;
              const txHash = `0x${seq.toString(16).padStart(64, "0")}`;
              const partition = seq % o.partitions;
              const at = Date.now();
              sentAt.set(txHash, { partition, sentAt: at });
              messages.push({
                key: tx.from,
                partition,
                value: JSON.stringify({ ...tx, txHash, observedAt: at }),
              });
            }
            sent = due;
            inflight.push(o.producer.send({ topic: o.transfers, messages }));
            if (inflight.length > 32) await Promise.all(inflight.splice(0));
          }
          if (due < Math.floor(((performance.now() - t0) / 1000) * o.rate)) continue;
          await sleep(10);
        }
        await Promise.all(inflight);
      })();
    },
    async stop() {
      running = false;
      await sending;
    },
    async drain(timeoutMs, onWait) {
      const until = performance.now() + timeoutMs;
      while (sent - seen.size > 0 && performance.now() < until) {
        onWait?.(sent - seen.size);
        await sleep(200);
      }
    },
    async close() {
      await reader.disconnect();
    },
  };
}
