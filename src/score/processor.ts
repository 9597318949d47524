import { performance } from "node:perf_hooks";
import { dlqHeaders, dlqRecord, fitDlqRecord } from "../contracts/dlq.js";
import { serializeFinding, type Finding } from "../contracts/finding.js";
import { parseTokenTransferTx, type TokenTransferTx } from "../contracts/token-transfer-tx.js";
import { errorCode } from "../kernel/errors.js";
import { scrubSecrets } from "../kernel/logger.js";
import { buildInvalidFinding, possibleFindingKeys } from "../sink/findings.js";
import { fitsBudget, recordLimits, type RecordLimits } from "../sink/limits.js";
import { allFindingTopics, routeFinding, type RoutedMessage, type RoutingConfig } from "../sink/router.js";
import { plainFinding, serializeScoredFinding } from "../sink/serialize.js";
import { shrinkToFit } from "../sink/shrink.js";
import type { AllowlistPort } from "./allowlist.js";
import type { FeaturePort, ModelPort } from "./ports.js";

export interface InputMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ProcessorConfig {
  routing: RoutingConfig;
  dlqTopic: string;
  enrichDeadlineMs: number;
  explainTopK: number;
  explainNormal: boolean;
  /** The chain this stage scores: a message for another chain is dead-lettered (ATT_CHAIN_MISMATCH). Unset: any chain. */
  chainId?: number | undefined;
  /** Inputs larger than this many bytes are dead-lettered unparsed (ATT_INPUT_TOO_LARGE). Unset: no cap. */
  maxInputBytes?: number | undefined;
  /** What fits in one record per output topic (read from the broker); unset: Kafka's 1 MiB default. */
  limits?: RecordLimits | undefined;
  /**
   * Allow-listed senders and contracts (issue 16): their scored findings carry
   * `metadata.allowlisted` and stay off the alerts topic. Unset: none.
   */
  allowlist?: AllowlistPort | undefined;
}

export interface BatchOutcome {
  /** Every record to write in one transaction, in input order per transaction (see createBatchProcessor). */
  records: RoutedMessage[];
  findings: Finding[];
  counts: {
    normal: number;
    anomalous: number;
    invalid: number;
    retracted: number;
    /** Messages repeating a transaction already in the batch (same hash and block): skipped. */
    duplicates: number;
  };
  /** DLQ records by reason code (malformed input, too large, another chain…), for the metric. */
  dlqCodes: Map<string, number>;
  featureSec: number;
  modelSec: number;
  /** observedAt (ms) of every scored transaction, for end-to-end latency once committed. */
  observedAt: number[];
  /** Normalized scores of every scored transaction (NORMAL ones too, even when not written). */
  scores: ArrayLike<number>;
  /**
   * The MODEL-DRIFT records among `records`. If the batch's commit fails, the consumer carries
   * them into a later commit: the rows that closed their window are not observed again.
   */
  driftRecords: RoutedMessage[];
}

/**
 * The DLQ record for an input message the score stage cannot turn into a finding. It always
 * fits the DLQ topic (`limits`): when the original bytes do not, it carries a prefix of them
 * with their size and sha256 (src/contracts/dlq.ts).
 */
export function dlqMessage(
  m: InputMessage,
  error: { code: string; message: string },
  dlqTopic: string,
  limits: RecordLimits = DEFAULT_LIMITS,
): RoutedMessage {
  const rec = dlqRecord({
    ...m,
    // Messages of errors are scrubbed where they are made; this is the last line before Kafka.
    error: { code: error.code, message: scrubSecrets(error.message) },
    stage: "score",
  });
  const key = m.key ? m.key.toString("utf8").slice(0, 1024) : "";
  const headers = dlqHeaders(rec);
  return {
    topic: dlqTopic,
    key,
    value: fitDlqRecord(rec, m.value, limits.valueBudget(dlqTopic, key, headers)),
    headers,
  };
}

const DEFAULT_LIMITS = recordLimits(new Map());

/** What the processor needs from the drift monitor (src/monitor/drift.ts). */
export interface DriftPort {
  observe(scores: ArrayLike<number>, featureRows?: Float32Array, n?: number): void;
  takeFindings(): Finding[];
}

/** The output of one input message, kept in input order until the batch's records are assembled. */
type Slot =
  | { kind: "dlq"; record: RoutedMessage; code: string }
  | { kind: "retract"; records: RoutedMessage[] }
  | { kind: "live"; index: number };

/**
 * Turns one batch of raw transfer messages into everything that must be written in the same
 * Kafka transaction: findings (routed), DLQ records for input that cannot be scored, and
 * retractions for transactions the ingester announced as reorged out (`removed: true`).
 *
 * Duplicates: a message repeating a live transaction already in the batch (same hash and block)
 * is skipped and counted; across batches a repeat gets the same uniqueKey again (idempotent for
 * a reader that keys by it, as Forta's).
 *
 * Order: the records of the batch follow the order of the input messages. A transaction, its
 * `removed: true` and its re-inclusion in another block, all in one batch, give finding,
 * tombstone, finding, in that order on the same key: after compaction the live finding is the
 * one of the canonical chain (a tombstone written before the finding it retracts would leave
 * the orphaned finding alive).
 *
 * Retraction: a tombstone (null value) for each uniqueKey the transaction could have had under
 * this model version (NORMAL/ANOMALOUS/INVALID), on every findings topic, with headers
 * `att-retraction: reorg`. On a compacted findings topic the finding disappears; a stream reader
 * sees the null value and drops what it kept for that key.
 *
 * Dead-lettered (with the reason, never parsed further): an input above `maxInputBytes`
 * (ATT_INPUT_TOO_LARGE), one that is not a valid TokenTransferTx (ATT_INVALID_JSON /
 * ATT_INVALID_MESSAGE), one for another chain (ATT_CHAIN_MISMATCH), and one whose finding does
 * not fit its topic even after `shrinkToFit` (ATT_FINDING_TOO_LARGE).
 */
export function createBatchProcessor(deps: {
  features: FeaturePort;
  model: ModelPort;
  config: ProcessorConfig;
  drift?: DriftPort | undefined;
}) {
  const { features, model, config } = deps;
  const limits = config.limits ?? DEFAULT_LIMITS;
  const modelInfo = {
    version: model.version,
    threshold: model.threshold,
    ...(model.scoreKind !== undefined ? { labels: model.labels, scoreKind: model.scoreKind } : {}),
  };
  const findingTopics = allFindingTopics(config.routing);
  // Per partition, the first offset the drift monitor has not seen: a chunk read again after a
  // failed commit (or processed message by message as poison) is not counted twice.
  const driftSeen = new Map<number, bigint>();

  // Budget of a finding's value on every topic it may go to. It depends only on the bytes of the
  // key (a uniqueKey: "0x" and 64 hex digits) and of the alert-id header, so it is computed once
  // per alert id and key length, not per finding.
  const findingBudgets = new Map<string, number>();
  const findingBudget = (key: string, alertId: string): number => {
    const id = `${alertId}:${key.length}`;
    let budget = findingBudgets.get(id);
    if (budget === undefined) {
      budget = limits.valueBudget(findingTopics, key, { "att-alert-id": alertId });
      findingBudgets.set(id, budget);
    }
    return budget;
  };

  function admit(m: InputMessage): { tx: TokenTransferTx } | { code: string; message: string } {
    const size = m.value?.length ?? 0;
    if (config.maxInputBytes !== undefined && size > config.maxInputBytes)
      return {
        code: "ATT_INPUT_TOO_LARGE",
        message: `Input of ${size} bytes is larger than ATT_SCORE_MAX_MESSAGE_BYTES (${config.maxInputBytes}); not parsed`,
      };
    let tx: TokenTransferTx;
    try {
      tx = parseTokenTransferTx(m.value);
    } catch (err) {
      return { code: errorCode(err), message: (err as Error).message };
    }
    if (config.chainId !== undefined && tx.chainId !== config.chainId)
      return {
        code: "ATT_CHAIN_MISMATCH",
        message: `Transaction ${tx.txHash} is for chain ${tx.chainId}; this stage scores chain ${config.chainId} (ATT_CHAIN_ID)`,
      };
    return { tx };
  }

  return async function processBatch(messages: InputMessage[], signal?: AbortSignal): Promise<BatchOutcome> {
    const findings: Finding[] = [];
    const counts = { normal: 0, anomalous: 0, invalid: 0, retracted: 0, duplicates: 0 };
    // Live transactions of this batch by hash → block hash: a repeat (a producer's retry, a
    // replayed range) gets no second finding; a retraction clears it, so a transaction that
    // returns to its block after a reorg and back is scored again.
    const seen = new Map<string, string>();
    const dlqCodes = new Map<string, number>();
    const slots: Slot[] = [];
    const live: TokenTransferTx[] = [];
    const liveFrom: InputMessage[] = [];
    const deadLetter = (m: InputMessage, e: { code: string; message: string }): Slot => ({
      kind: "dlq",
      record: dlqMessage(m, e, config.dlqTopic, limits),
      code: e.code,
    });

    for (const m of messages) {
      const a = admit(m);
      if (!("tx" in a)) {
        slots.push(deadLetter(m, a));
        continue;
      }
      const tx = a.tx;
      if (tx.removed) {
        seen.delete(tx.txHash);
        const records: RoutedMessage[] = [];
        for (const key of possibleFindingKeys(tx, model.version)) {
          for (const topic of findingTopics) {
            records.push({
              topic,
              key,
              value: null,
              headers: {
                "att-retraction": "reorg",
                "att-tx-hash": tx.txHash,
                "att-block-hash": tx.blockHash,
              },
            });
          }
        }
        slots.push({ kind: "retract", records });
        counts.retracted += 1;
        continue;
      }
      if (seen.get(tx.txHash) === tx.blockHash) {
        counts.duplicates += 1;
        continue;
      }
      seen.set(tx.txHash, tx.blockHash);
      slots.push({ kind: "live", index: live.length });
      live.push(tx);
      liveFrom.push(m);
    }

    const t0 = performance.now();
    const outcomes = live.length
      ? await features.computeBatch(live, {
          deadlineMs: config.enrichDeadlineMs,
          ...(signal ? { signal } : {}),
        })
      : [];
    const featureSec = (performance.now() - t0) / 1000;
    const perTxFeatureSec = live.length ? featureSec / live.length : 0;

    const validIdx: number[] = [];
    for (let i = 0; i < outcomes.length; i++) if (outcomes[i]!.ok) validIdx.push(i);
    const width = model.featureCount;
    const rows = new Float32Array(validIdx.length * width);
    validIdx.forEach((i, r) => {
      const o = outcomes[i]!;
      if (o.ok) rows.set(o.values, r * width);
    });
    const t1 = performance.now();
    const scores: ArrayLike<number> = validIdx.length ? await model.scoreRows(rows, validIdx.length) : [];
    const modelSec = (performance.now() - t1) / 1000;
    const perTxModelSec = validIdx.length ? modelSec / validIdx.length : 0;

    const observedAt: number[] = [];
    // Per live transaction: its routed finding records, or the DLQ slot that replaces them.
    const liveOut: (RoutedMessage[] | Slot)[] = new Array<RoutedMessage[] | Slot>(live.length);
    // Scored rows are the valid outcomes in order: the next valid outcome takes the next score.
    let scoreRow = 0;

    for (let i = 0; i < live.length; i++) {
      const tx = live[i]!;
      const o = outcomes[i]!;
      let finding: Finding;
      let value: string;
      let kind: "normal" | "anomalous" | "invalid";
      let allowlisted = false;
      if (!o.ok) {
        finding = buildInvalidFinding(
          {
            tx,
            code: o.code,
            reason: o.reason,
            ...(o.named ? { features: o.named } : {}),
            ...(o.tokenTypes ? { tokenTypes: o.tokenTypes } : {}),
            featureTimeSec: perTxFeatureSec,
          },
          modelInfo,
        );
        value = serializeFinding(finding);
        kind = "invalid";
      } else {
        const score = scores[scoreRow++]!;
        const anomalous = score >= model.threshold;
        if (!anomalous && config.routing.normalFindings === "off") {
          // Not written anywhere: don't build it (≈ 99.6 % of mainnet transactions).
          counts.normal += 1;
          observedAt.push(tx.observedAt);
          liveOut[i] = [];
          continue;
        }
        const explanations =
          anomalous || config.explainNormal ? model.explain(o.values, config.explainTopK) : [];
        allowlisted = config.allowlist?.matches(tx) ?? false;
        const scored = {
          tx,
          features: o.named,
          maxSingleTokenName: o.maxSingleTokenName,
          tokenTypes: o.tokenTypes,
          score,
          anomalous,
          explanations,
          featureTimeSec: perTxFeatureSec,
          modelTimeSec: perTxModelSec,
          allowlisted,
        };
        // Serialized straight to its JSON (src/sink/serialize.ts): the same bytes as
        // serializeFinding(buildScoredFinding(…)) without the object graph in between.
        const serialized = serializeScoredFinding(scored, modelInfo);
        finding = serialized;
        value = serialized.value;
        kind = anomalous ? "anomalous" : "normal";
      }
      const budget = findingBudget(finding.uniqueKey, finding.alertId);
      if (!fitsBudget(value, budget)) {
        const shrunk = shrinkToFit(plainFinding(finding), budget);
        if (!shrunk) {
          liveOut[i] = deadLetter(liveFrom[i]!, {
            code: "ATT_FINDING_TOO_LARGE",
            message: `The ${finding.alertId} finding of ${tx.txHash} is ${Buffer.byteLength(value)} bytes even with its metadata shrunk; the findings topic takes at most ${budget}`,
          });
          continue;
        }
        ({ finding, value } = shrunk);
      }
      counts[kind] += 1;
      findings.push(finding);
      observedAt.push(tx.observedAt);
      liveOut[i] = routeFinding(finding, config.routing, value, allowlisted);
    }

    const records: RoutedMessage[] = [];
    const addDlq = (slot: Extract<Slot, { kind: "dlq" }>) => {
      records.push(slot.record);
      dlqCodes.set(slot.code, (dlqCodes.get(slot.code) ?? 0) + 1);
    };
    for (const slot of slots) {
      if (slot.kind === "dlq") addDlq(slot);
      else if (slot.kind === "retract") records.push(...slot.records);
      else {
        const out = liveOut[slot.index]!;
        if (Array.isArray(out)) records.push(...out);
        else if (out.kind === "dlq") addDlq(out);
      }
    }

    // A MODEL-DRIFT finding is committed in the same transaction as the batch that closed its window.
    // Observed last, once nothing else in the batch can throw: a batch that fails before this point
    // is read again and observed then.
    const driftRecords: RoutedMessage[] = [];
    if (deps.drift && validIdx.length > 0) {
      const unseen = unseenRows(
        validIdx.map((i) => liveFrom[i]!),
        driftSeen,
      );
      if (unseen.length === validIdx.length) deps.drift.observe(scores, rows, validIdx.length);
      else if (unseen.length > 0) {
        const sub = new Float32Array(unseen.length * width);
        unseen.forEach((r, k) => sub.set(rows.subarray(r * width, (r + 1) * width), k * width));
        deps.drift.observe(
          unseen.map((r) => scores[r]!),
          sub,
          unseen.length,
        );
      }
      for (const f of deps.drift.takeFindings())
        driftRecords.push(...routeFinding(f, config.routing, serializeFinding(f)));
      records.push(...driftRecords);
    }
    return { records, findings, counts, dlqCodes, featureSec, modelSec, observedAt, scores, driftRecords };
  };
}

export type BatchProcessor = ReturnType<typeof createBatchProcessor>;

/**
 * Indexes of the rows whose message the drift monitor has not seen yet, and marks them seen.
 * Offsets grow within a partition, so usually every row is new (or, re-read, none is).
 */
function unseenRows(from: InputMessage[], seen: Map<number, bigint>): number[] {
  const out: number[] = [];
  for (let r = 0; r < from.length; r++) {
    const m = from[r]!;
    const offset = BigInt(m.offset);
    const next = seen.get(m.partition) ?? -1n;
    if (offset >= next) {
      out.push(r);
      seen.set(m.partition, offset + 1n);
    }
  }
  return out;
}
