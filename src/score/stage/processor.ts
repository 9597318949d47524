import { performance } from "node:perf_hooks";
import { dlqHeaders, dlqRecord } from "../../contracts/dlq.js";
import { serializeFinding, type Finding } from "../../contracts/finding.js";
import { parseTokenTransferTx, type TokenTransferTx } from "../../contracts/token-transfer-tx.js";
import { errorCode } from "../../kernel/errors.js";
import { scrubSecrets } from "../../kernel/logger.js";
import { buildInvalidFinding, buildScoredFinding, possibleFindingKeys } from "../../sink/findings.js";
import { allFindingTopics, routeFinding, type RoutedMessage, type RoutingConfig } from "../../sink/router.js";
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
}

export interface BatchOutcome {
  records: RoutedMessage[];
  findings: Finding[];
  counts: { normal: number; anomalous: number; invalid: number; dlq: number; retracted: number };
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

/** The DLQ record for an input message the score stage cannot turn into a finding. */
export function dlqMessage(
  m: InputMessage,
  error: { code: string; message: string },
  dlqTopic: string,
): RoutedMessage {
  const rec = dlqRecord({
    ...m,
    // Messages of errors are scrubbed where they are made; this is the last line before Kafka.
    error: { code: error.code, message: scrubSecrets(error.message) },
    stage: "score",
  });
  return {
    topic: dlqTopic,
    key: m.key?.toString("utf8") ?? "",
    value: JSON.stringify(rec),
    headers: dlqHeaders(rec),
  };
}

/**
 * Turns one batch of raw transfer messages into everything that must be written in the same
 * Kafka transaction: findings (routed), DLQ records for malformed input, and retractions for
 * transactions the ingester announced as reorged out (`removed: true`).
 *
 * Retraction: a tombstone (null value) for each uniqueKey the transaction could have had under
 * this model version (NORMAL/ANOMALOUS/INVALID), on every findings topic, with headers
 * `att-retraction: reorg`. On a compacted findings topic the finding disappears; a stream reader
 * sees the null value and drops what it kept for that key.
 */
/** What the processor needs from the drift monitor (src/monitor/drift.ts). */
export interface DriftPort {
  observe(scores: ArrayLike<number>, featureRows?: Float32Array, n?: number): void;
  takeFindings(): Finding[];
}

export function createBatchProcessor(deps: {
  features: FeaturePort;
  model: ModelPort;
  config: ProcessorConfig;
  drift?: DriftPort | undefined;
}) {
  const { features, model, config } = deps;
  const modelInfo = { version: model.version, threshold: model.threshold };
  // Per partition, the first offset the drift monitor has not seen: a chunk read again after a
  // failed commit (or processed message by message as poison) is not counted twice.
  const driftSeen = new Map<number, bigint>();

  return async function processBatch(messages: InputMessage[], signal?: AbortSignal): Promise<BatchOutcome> {
    const records: RoutedMessage[] = [];
    const findings: Finding[] = [];
    const counts = { normal: 0, anomalous: 0, invalid: 0, dlq: 0, retracted: 0 };
    const live: TokenTransferTx[] = [];
    const liveFrom: InputMessage[] = [];

    for (const m of messages) {
      let tx: TokenTransferTx;
      try {
        tx = parseTokenTransferTx(m.value);
      } catch (err) {
        records.push(
          dlqMessage(m, { code: errorCode(err), message: (err as Error).message }, config.dlqTopic),
        );
        counts.dlq += 1;
        continue;
      }
      if (tx.removed) {
        for (const key of possibleFindingKeys(tx, model.version)) {
          for (const topic of allFindingTopics(config.routing)) {
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
        counts.retracted += 1;
        continue;
      }
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
    // Scored rows are the valid outcomes in order: the next valid outcome takes the next score.
    let scoreRow = 0;

    for (let i = 0; i < live.length; i++) {
      const tx = live[i]!;
      const o = outcomes[i]!;
      let finding: Finding;
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
        counts.invalid += 1;
      } else {
        const score = scores[scoreRow++]!;
        const anomalous = score >= model.threshold;
        if (!anomalous && config.routing.normalFindings === "off") {
          // Not written anywhere: don't build it (≈ 99.6 % of mainnet transactions).
          counts.normal += 1;
          observedAt.push(tx.observedAt);
          continue;
        }
        const explanations =
          anomalous || config.explainNormal ? model.explain(o.values, config.explainTopK) : [];
        finding = buildScoredFinding(
          {
            tx,
            features: o.named,
            maxSingleTokenName: o.maxSingleTokenName,
            tokenTypes: o.tokenTypes,
            score,
            anomalous,
            explanations,
            featureTimeSec: perTxFeatureSec,
            modelTimeSec: perTxModelSec,
          },
          modelInfo,
        );
        if (anomalous) counts.anomalous += 1;
        else counts.normal += 1;
      }
      findings.push(finding);
      observedAt.push(tx.observedAt);
      records.push(...routeFinding(finding, config.routing, serializeFinding(finding)));
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
    return { records, findings, counts, featureSec, modelSec, observedAt, scores, driftRecords };
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
