import { errorCode, isRetryable, ShutdownError } from "../../kernel/errors.js";

/**
 * Poison messages: input that makes its chunk fail every time, for a reason that is the
 * message's own — a finding the broker refuses (larger than the topic's max.message.bytes), or
 * a non-retryable error while computing its features or score. Without care such a chunk is
 * re-read forever and its partition stops. The consumer counts consecutive failures of the
 * chunk that starts at the same offset; after `attempts` of them it processes that chunk one
 * message at a time, and a message that still fails is dead-lettered with the reason, its
 * offset committed in the same transaction. Nothing is lost: the DLQ keeps the original bytes.
 *
 * Failures that say nothing about the message (broker or Redis unavailable, timeouts, fencing,
 * a rebalance, shutdown) never count: those chunks are retried as before.
 */

/** Kafka error types by which the broker refuses the records themselves. */
const RECORD_REJECTIONS = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "UNSUPPORTED_COMPRESSION_TYPE",
]);

/** kafkajs nests the broker's error: `cause`, `originalError`, or the `errors` of an aggregate. */
function kafkaErrorTypes(err: unknown, depth = 0): string[] {
  if (depth > 4 || err === null || typeof err !== "object") return [];
  const e = err as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  const out = typeof e.type === "string" ? [e.type] : [];
  for (const inner of [e.cause, e.originalError]) out.push(...kafkaErrorTypes(inner, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) out.push(...kafkaErrorTypes(inner, depth + 1));
  return out;
}

export interface PoisonCause {
  code: string;
  message: string;
}

/**
 * Whether `err` can be the message's own fault. `stage` says where it was thrown: in
 * "process" (features, model, findings) any non-retryable error; in "commit" only the broker's
 * refusal of the records.
 */
export function poisonCause(err: unknown, stage: FailureStage): PoisonCause | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (stage === "commit") {
    const type = kafkaErrorTypes(err).find((t) => RECORD_REJECTIONS.has(t));
    return type
      ? { code: `ATT_KAFKA_${type}`, message: `Kafka refused this message's output: ${message}` }
      : undefined;
  }
  if (err instanceof ShutdownError || isRetryable(err)) return undefined;
  if (err instanceof Error && err.name === "AbortError") return undefined;
  // kafkajs errors inside processing (none expected) and retryable upstream errors are not the message's fault.
  if (err instanceof Error && err.name.startsWith("KafkaJS")) return undefined;
  return { code: errorCode(err), message };
}

export type FailureStage = "process" | "commit";

/** Marks where an error was thrown, for `stageOf` (only the broker's refusal of records can be a commit-time poison). */
export function tagStage(err: unknown, stage: FailureStage): unknown {
  if (err !== null && typeof err === "object" && !("attStage" in err) && Object.isExtensible(err))
    Object.defineProperty(err, "attStage", { value: stage, enumerable: false });
  return err;
}

/** Where `tagStage` said the error was thrown; "process" when untagged. */
export function stageOf(err: unknown): FailureStage {
  return (err as { attStage?: FailureStage } | null)?.attStage ?? "process";
}

/** Consecutive failures of the chunk that starts at a given offset, per partition. */
export class PoisonTracker {
  private readonly strikes = new Map<number, { offset: string; count: number }>();

  constructor(private readonly attempts: number) {}

  /** Records a failure that may be the chunk's own fault; returns the count so far. */
  strike(partition: number, firstOffset: string): number {
    const cur = this.strikes.get(partition);
    if (cur && cur.offset === firstOffset) cur.count += 1;
    else this.strikes.set(partition, { offset: firstOffset, count: 1 });
    return this.strikes.get(partition)!.count;
  }

  /** True when the chunk starting at `firstOffset` has failed `attempts` times: go one by one. */
  shouldIsolate(partition: number, firstOffset: string): boolean {
    const cur = this.strikes.get(partition);
    return cur !== undefined && cur.offset === firstOffset && cur.count >= this.attempts;
  }

  clear(partition: number): void {
    this.strikes.delete(partition);
  }
}
