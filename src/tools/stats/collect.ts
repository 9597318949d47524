import { ALERT_IDS, parseFinding, type Finding } from "../../contracts/finding.js";
import type { RangeMessage } from "./read-range.js";

/** What `att stats` keeps of one transaction finding (a day is ~160k of them). */
export interface KeptFinding {
  alertId: string;
  severity: string;
  modelVersion: string;
  /** Normalized anomaly score; absent on INVALID findings. */
  score?: number;
  threshold?: number;
  blockNumber?: number;
  /** Block time, unix seconds. */
  blockTime?: number;
  txHash?: string;
  /** Chain of the transaction (source.transactions[0].chainId): labels are keyed by it. */
  chainId?: number;
  from?: string;
  explanations?: string;
  invalidCode?: string;
  /** Model inputs in the card's feature order (float32, as the model saw them); when the card is known. */
  features?: Float32Array;
  /** The metadata feature values as written (exact), when exporting. */
  featureText?: string[];
}

export interface CollectorCounters {
  /** Records handed to the collector. */
  messages: number;
  /** Tombstones (null values: retractions after a reorg). */
  tombstones: number;
  /** Tombstones that removed a finding read earlier in the range. */
  retracted: number;
  /** Findings whose uniqueKey was already kept (re-deliveries); the later one wins. */
  duplicates: number;
  /** Records that are not a valid Forta finding. */
  unparseable: number;
  /** Findings of another model version than --model-version. */
  otherVersions: number;
  /** Findings without a score or feature that the card lists (not exported). */
  missingFeatures: number;
}

export interface FindingsCollector {
  add(m: RangeMessage): void;
  readonly findings: Map<string, KeptFinding>;
  /** MODEL-DRIFT findings in the range. */
  readonly drift: Finding[];
  readonly counters: CollectorCounters;
  /** Findings per model version seen (before the --model-version filter). */
  readonly versions: Map<string, number>;
  /** First unparseable record, for the error line. */
  readonly firstError?: { partition: number; offset: string; message: string };
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Keeps the latest finding per uniqueKey; a tombstone (null value, written by the score stage
 * when the ingester retracts a reorged transaction) drops the finding it names.
 * `featuresOf(version)` gives the model's ordered feature names for a version (cached by the
 * caller), or undefined when its card is unknown.
 */
export function createFindingsCollector(opts: {
  modelVersion?: string;
  featuresOf?: (version: string) => string[] | undefined;
  keepFeatureText?: boolean;
}): FindingsCollector {
  const findings = new Map<string, KeptFinding>();
  const drift: Finding[] = [];
  const versions = new Map<string, number>();
  const counters: CollectorCounters = {
    messages: 0,
    tombstones: 0,
    retracted: 0,
    duplicates: 0,
    unparseable: 0,
    otherVersions: 0,
    missingFeatures: 0,
  };
  let firstError: FindingsCollector["firstError"];

  return {
    findings,
    drift,
    counters,
    versions,
    get firstError() {
      return firstError;
    },
    add(m) {
      if (m.value !== null && !m.inRange) return;
      counters.messages += 1;
      if (m.value === null) {
        counters.tombstones += 1;
        if (m.key !== null && findings.delete(m.key)) counters.retracted += 1;
        return;
      }
      let f: Finding;
      try {
        f = parseFinding(m.value);
      } catch (err) {
        counters.unparseable += 1;
        firstError ??= { partition: m.partition, offset: m.offset, message: (err as Error).message };
        return;
      }
      const md = f.metadata;
      const version = md.model_version ?? "(none)";
      versions.set(version, (versions.get(version) ?? 0) + 1);
      if (opts.modelVersion !== undefined && version !== opts.modelVersion) {
        counters.otherVersions += 1;
        return;
      }
      if (f.alertId === ALERT_IDS.drift) {
        drift.push(f);
        return;
      }
      const block = f.source.blocks?.[0];
      const kept: KeptFinding = {
        alertId: f.alertId,
        severity: f.severity,
        modelVersion: version,
        txHash: f.source.transactions?.[0]?.hash,
        chainId: f.source.transactions?.[0]?.chainId,
        from: md.from,
        blockTime: Math.floor(Date.parse(f.timestamp) / 1000),
      };
      const score = num(md.anomaly_score);
      if (score !== undefined && f.alertId !== ALERT_IDS.invalid) kept.score = score;
      const threshold = num(md.anomaly_threshold);
      if (threshold !== undefined) kept.threshold = threshold;
      if (block) kept.blockNumber = block.number;
      if (md.model_explanations) kept.explanations = md.model_explanations;
      if (md.invalid_reason_code) kept.invalidCode = md.invalid_reason_code;
      const names = kept.score !== undefined ? opts.featuresOf?.(version) : undefined;
      if (names) {
        const values = new Float32Array(names.length);
        const text: string[] = [];
        let complete = true;
        for (let i = 0; i < names.length; i++) {
          const raw = md[names[i]!];
          const v = num(raw);
          if (v === undefined) {
            complete = false;
            break;
          }
          values[i] = v;
          if (opts.keepFeatureText) text.push(raw!);
        }
        if (complete) {
          kept.features = values;
          if (opts.keepFeatureText) kept.featureText = text;
        } else counters.missingFeatures += 1;
      }
      const key = m.key ?? f.uniqueKey;
      if (findings.has(key)) counters.duplicates += 1;
      findings.set(key, kept);
    },
  };
}
