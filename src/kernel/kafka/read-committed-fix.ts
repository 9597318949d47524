/**
 * Fix for kafkajs 2.2.4's read_committed filter (src/consumer/filterAbortedMessages.js).
 *
 * The broker lists a fetch's aborted transactions in the order their ABORT markers were
 * written, and several may already have begun before a given record. kafkajs walks that list
 * assuming it is sorted by first offset and activates at most one transaction per record, so when
 * transactions interleave and abort out of the order they began — exactly what happens when a
 * SIGKILLed scorer's transaction is aborted later by its successor while other partitions' producers
 * keep committing — a read_committed kafkajs consumer receives records of an aborted transaction
 * (reproduced in test/kafkajs-read-committed.test.ts; the Java client keeps the list in a priority
 * queue by first offset and activates every transaction that has begun).
 *
 * kafkajs captures the filter with `require` when it loads, so this module must be evaluated
 * before kafkajs: src/kernel/kafka/patches.ts loads it, every module of this folder that imports
 * kafkajs imports that first, and vitest's `setupFiles` loads it before any test file.
 */
import { isReplaced, replaceKafkajsFile } from "./kafkajs-internals.js";

interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  batchContext: { producerId: string; inTransaction: boolean };
}
interface AbortedTransaction {
  firstOffset: string;
  producerId: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(m: FetchedMessage): boolean {
  return !!m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY);
}

/** Records that did not take part in an aborted transaction, as Kafka's Java consumer decides it. */
export function filterAbortedMessages({
  messages,
  abortedTransactions,
}: {
  messages: FetchedMessage[];
  abortedTransactions?: AbortedTransaction[];
}): FetchedMessage[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  const aborted = new Set<string>();
  let next = 0;
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (next < pending.length && offset >= BigInt(pending[next]!.firstOffset)) {
      aborted.add(String(pending[next]!.producerId));
      next += 1;
    }
    const producerId = String(m.batchContext.producerId);
    if (isAbortMarker(m)) {
      aborted.delete(producerId);
      return true;
    }
    return !(m.batchContext.inTransaction && aborted.has(producerId));
  });
}

const FILTER = "src/consumer/filterAbortedMessages.js";

replaceKafkajsFile(FILTER, filterAbortedMessages, { loadedWith: "src/consumer/batch.js" });

/** True when kafkajs uses the fixed filter (checked by tests). */
export function kafkajsFixActive(): boolean {
  return isReplaced(FILTER);
}
