import { ALERT_IDS, type Finding } from "../../contracts/finding.js";
import type { TokenTransferTx } from "../../contracts/token-transfer-tx.js";
import { percentile } from "../../kernel/math.js";
import type { SentTx } from "../simulate/sender.js";

/**
 * What the demo knows about each simulated transaction: sent by the simulator, published by
 * ingest (observedAt), and its finding as read by the demo's read-committed consumer. Keys
 * are transaction hashes; only the simulator's own transactions count in the summary.
 */
export interface TxRecord {
  sent: SentTx;
  observedAt?: number;
  blockNumber?: number;
  finding?: { alertId: string; score?: number; explanation?: string; readAt: number; latencyMs?: number };
}

export interface AnomalyView {
  hash: string;
  kind: string;
  template?: string;
  score: number;
  explanation: string;
  at: number;
}

export interface LiveStats {
  elapsedS: number;
  blocks: number;
  lastBlock?: number;
  sent: number;
  sentPerS: number;
  scoredPerS: number;
  findings: number;
  anomalyRateNormal: number;
  exploitsInjected: number;
  exploitsDetected: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  latest: AnomalyView[];
}

export interface Summary {
  sent: Record<string, number> & { total: number };
  blocks: number;
  published: number;
  findings: {
    total: number;
    normal: number;
    anomalous: number;
    invalid: number;
    missing: number;
    other: number;
  };
  exploits: {
    injected: number;
    detected: number;
    recall: number | null;
    missed: { hash: string; template?: string; alertId?: string; score?: number }[];
  };
  normal: { scored: number; anomalous: number; invalid: number; anomalyRate: number | null };
  latencyMs: { n: number; p50?: number; p90?: number; p99?: number; max?: number };
  invalidReasons: Record<string, number>;
}

/** "feature=value (+0.1234)" → the first entry of the finding's model_explanations. */
function topExplanation(f: Finding): string {
  try {
    const list = JSON.parse(f.metadata.model_explanations ?? "[]") as unknown;
    return Array.isArray(list) && typeof list[0] === "string" ? list[0] : "";
  } catch {
    return "";
  }
}

export function createTracker(now: () => number = Date.now) {
  const txs = new Map<string, TxRecord>();
  const early = new Map<
    string,
    { observedAt?: number; blockNumber?: number; finding?: Finding; readAt?: number }
  >();
  const blocks = new Set<number>();
  const latest: AnomalyView[] = [];
  const latencies: number[] = [];
  const invalidReasons: Record<string, number> = {};
  const recentSent: number[] = [];
  const recentScored: number[] = [];
  let start = now();

  const applyFinding = (rec: TxRecord, f: Finding, readAt: number) => {
    if (rec.finding) return; // a re-delivered finding is the same finding
    const score = f.metadata.anomaly_score !== undefined ? Number(f.metadata.anomaly_score) : undefined;
    rec.finding = {
      alertId: f.alertId,
      ...(score !== undefined ? { score } : {}),
      explanation: topExplanation(f),
      readAt,
      ...(rec.observedAt !== undefined ? { latencyMs: readAt - rec.observedAt } : {}),
    };
    if (rec.finding.latencyMs !== undefined) latencies.push(rec.finding.latencyMs);
    recentScored.push(readAt);
    if (f.alertId === ALERT_IDS.invalid) {
      const code = f.metadata.invalid_reason_code ?? "unknown";
      invalidReasons[code] = (invalidReasons[code] ?? 0) + 1;
    }
    if (f.alertId === ALERT_IDS.anomalous) {
      latest.unshift({
        hash: rec.sent.hash,
        kind: rec.sent.kind,
        ...(rec.sent.template ? { template: rec.sent.template } : {}),
        score: score ?? NaN,
        explanation: rec.finding.explanation ?? "",
        at: readAt,
      });
      latest.length = Math.min(latest.length, 50);
    }
  };

  const trim = (arr: number[], t: number) => {
    while (arr.length > 0 && arr[0]! < t - 10_000) arr.shift();
  };

  return {
    /** Restarts the live view's clock (when traffic starts). */
    markStart(): void {
      start = now();
    },
    sent(tx: SentTx): void {
      const rec: TxRecord = { sent: tx };
      txs.set(tx.hash, rec);
      recentSent.push(tx.sentAt);
      const e = early.get(tx.hash);
      if (e) {
        early.delete(tx.hash);
        if (e.observedAt !== undefined) rec.observedAt = e.observedAt;
        if (e.blockNumber !== undefined) rec.blockNumber = e.blockNumber;
        if (e.finding) applyFinding(rec, e.finding, e.readAt!);
      }
    },
    /** A TokenTransferTx read from the transfers topic. */
    published(tx: TokenTransferTx): void {
      if (tx.removed) return;
      blocks.add(tx.blockNumber);
      const rec = txs.get(tx.txHash);
      if (rec) {
        rec.observedAt ??= tx.observedAt;
        rec.blockNumber ??= tx.blockNumber;
        // the finding can be read before the transfer (two topics, no order between them)
        if (rec.finding && rec.finding.latencyMs === undefined) {
          rec.finding.latencyMs = rec.finding.readAt - rec.observedAt;
          latencies.push(rec.finding.latencyMs);
        }
      } else {
        // Published before the sender callback ran (or not ours): keep it for a while.
        const e = early.get(tx.txHash) ?? {};
        e.observedAt ??= tx.observedAt;
        e.blockNumber ??= tx.blockNumber;
        early.set(tx.txHash, e);
      }
    },
    /** A finding read from the findings topic. */
    finding(f: Finding): void {
      const hash = f.source.transactions?.[0]?.hash?.toLowerCase();
      if (!hash) return;
      const readAt = now();
      const rec = txs.get(hash);
      if (rec) applyFinding(rec, f, readAt);
      else {
        const e = early.get(hash) ?? {};
        e.finding ??= f;
        e.readAt ??= readAt;
        early.set(hash, e);
      }
    },
    /** Sent transactions that have no finding yet. */
    outstanding(): number {
      let n = 0;
      for (const r of txs.values()) if (!r.finding) n++;
      return n;
    },
    live(): LiveStats {
      const t = now();
      trim(recentSent, t);
      trim(recentScored, t);
      const s = this.summary();
      const recent = latencies.slice(-2000).sort((a, b) => a - b);
      return {
        elapsedS: (t - start) / 1000,
        blocks: blocks.size,
        ...(blocks.size > 0 ? { lastBlock: Math.max(...blocks) } : {}),
        sent: s.sent.total,
        sentPerS: recentSent.length / 10,
        scoredPerS: recentScored.length / 10,
        findings: s.findings.total,
        anomalyRateNormal: s.normal.anomalyRate ?? 0,
        exploitsInjected: s.exploits.injected,
        exploitsDetected: s.exploits.detected,
        ...(recent.length > 0
          ? { latencyP50Ms: percentile(recent, 50)!, latencyP99Ms: percentile(recent, 99)! }
          : {}),
        latest: latest.slice(0, 8),
      };
    },
    summary(): Summary {
      const sent: Record<string, number> & { total: number } = {
        total: 0,
        single: 0,
        swap: 0,
        batch: 0,
        exploit: 0,
      };
      const findings = { total: 0, normal: 0, anomalous: 0, invalid: 0, missing: 0, other: 0 };
      const exploits = { injected: 0, detected: 0, missed: [] as Summary["exploits"]["missed"] };
      const normal = { scored: 0, anomalous: 0, invalid: 0 };
      let published = 0;
      for (const r of txs.values()) {
        sent.total += 1;
        sent[r.sent.kind] = (sent[r.sent.kind] ?? 0) + 1;
        if (r.observedAt !== undefined) published += 1;
        const a = r.finding?.alertId;
        if (!a) findings.missing += 1;
        else {
          findings.total += 1;
          if (a === ALERT_IDS.normal) findings.normal += 1;
          else if (a === ALERT_IDS.anomalous) findings.anomalous += 1;
          else if (a === ALERT_IDS.invalid) findings.invalid += 1;
          else findings.other += 1;
        }
        if (r.sent.kind === "exploit") {
          exploits.injected += 1;
          if (a === ALERT_IDS.anomalous) exploits.detected += 1;
          else
            exploits.missed.push({
              hash: r.sent.hash,
              ...(r.sent.template ? { template: r.sent.template } : {}),
              ...(a ? { alertId: a } : {}),
              ...(r.finding?.score !== undefined ? { score: r.finding.score } : {}),
            });
        } else if (a === ALERT_IDS.normal || a === ALERT_IDS.anomalous) {
          normal.scored += 1;
          if (a === ALERT_IDS.anomalous) normal.anomalous += 1;
        } else if (a === ALERT_IDS.invalid) normal.invalid += 1;
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      return {
        sent,
        blocks: blocks.size,
        published,
        findings,
        exploits: {
          ...exploits,
          recall: exploits.injected > 0 ? exploits.detected / exploits.injected : null,
        },
        normal: { ...normal, anomalyRate: normal.scored > 0 ? normal.anomalous / normal.scored : null },
        latencyMs: {
          n: sorted.length,
          ...(sorted.length > 0
            ? {
                p50: percentile(sorted, 50)!,
                p90: percentile(sorted, 90)!,
                p99: percentile(sorted, 99)!,
                max: sorted[sorted.length - 1]!,
              }
            : {}),
        },
        invalidReasons: { ...invalidReasons },
      };
    },
  };
}

export type Tracker = ReturnType<typeof createTracker>;
