import { errorCode, isRetryable, ShutdownError } from "../kernel/errors.js";
import { isKafkaClientError, KafkaError, kafkaErrorInfo } from "../kernel/kafka/index.js";

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

export interface PoisonCause {
  code: string;
  message: string;
}

/**
 * Whether `err` can be the message's own fault. `stage` says where it was thrown: in
 * "process" (features, model, findings) any non-retryable error; in "commit" only the broker's
 * refusal of the records (src/kernel/kafka/errors.ts: kind "record-rejected").
 */
export function poisonCause(err: unknown, stage: FailureStage): PoisonCause | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (stage === "commit") {
    const kafka = kafkaErrorInfo(err);
    return kafka?.kind === "record-rejected"
      ? { code: kafka.code, message: `Kafka refused this message's output: ${clientMessage(err)}` }
      : undefined;
  }
  if (err instanceof ShutdownError || isRetryable(err)) return undefined;
  if (err instanceof Error && err.name === "AbortError") return undefined;
  // kafkajs errors inside processing (none expected) and retryable upstream errors are not the message's fault.
  if (isKafkaClientError(err)) return undefined;
  return { code: errorCode(err), message };
}

/** The Kafka client's own message (a KafkaError adds our context lines around it). */
function clientMessage(err: unknown): string {
  const e = err instanceof KafkaError ? err.cause : err;
  return e instanceof Error ? e.message : String(e);
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
