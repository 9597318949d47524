import { cpus } from "node:os";
import type { ProfileSummary } from "../cpuprofile.js";
import { withBaseline, type BenchReport, type BenchResult } from "../results.js";
import { readRss, type RssSampler } from "../rss.js";
import { fmt, fmtRatio, benchTable } from "../table.js";
import type { LatencyResult } from "./latency.js";
import type { BatchBreakdown } from "./metrics.js";
import type { RawConsumeResult, ScorerRunResult } from "./throughput.js";
import type { TuningVariant } from "./tuning.js";

/** Goals of issue #10. */
export const GOAL_TX_S = 10_000;
export const GOAL_P99_MS = 250;

export interface E2eOutcome {
  n: number;
  raw: RawConsumeResult;
  runs: ScorerRunResult[];
  latency:
    | {
        latency: LatencyResult;
        baseline: LatencyResult;
        batches: BatchBreakdown | undefined;
        peakRssMiB: number;
      }
    | undefined;
  tuning: { variant: TuningVariant; run: ScorerRunResult }[] | undefined;
  profile: ProfileSummary | undefined;
  /** Alert ids of the first findings of the first run. */
  sample: string[];
  produceSeconds: number;
  rss: RssSampler;
}

/** Where a batch's time went, from the scorer's own histograms. `latency`: also its observedAt → commit tail (meaningless over a pre-filled topic). */
function breakdown(label: string, b: BatchBreakdown | undefined, latency = false): string {
  if (!b) return `${label}: no metrics scraped.`;
  const tail = latency
    ? ` The scorer's own observedAt → commit latency (warm-up included): ${fmt(b.scorerLatencyOver100ms * 100)}% over 100 ms, ${fmt(b.scorerLatencyOver250ms * 100)}% over 250 ms.`
    : "";
  return `${label}: ${fmt(b.batches)} batches of ${fmt(b.meanBatchSize)} transactions on average; per batch ${fmt(b.featureMs)} ms features (enrichment included), ${fmt(b.modelMs)} ms model, ${fmt(b.commitMs)} ms Kafka transaction (findings + offsets; ${fmt(b.commitsOver100ms * 100)}% over 100 ms, ${fmt(b.commitsOver250ms * 100)}% over 250 ms).${tail}`;
}

/** CPU per transaction of every process involved, and the throughput that CPU alone allows. */
function cpuNote(r: ScorerRunResult, n: number): string {
  const us = (sec: number) => fmt((sec / n) * 1_000_000);
  const total = r.cpu.reduce((a, c) => a + (Number.isFinite(c.seconds) ? c.seconds : 0), 0);
  const cores = cpus().length;
  return `CPU per transaction, ${r.processes}-process run (first join → done): ${r.cpu
    .map((c) => `${c.label} ${us(c.seconds)} µs`)
    .join(
      ", ",
    )}; together ${us(total)} µs — ${cores} CPUs doing nothing else would cap this at ${fmt((n / total) * cores)} tx/s.`;
}

/** Fills the report's figures, memory and notes from what the phases measured. */
export function summarizeE2e(report: BenchReport, o: E2eOutcome): void {
  const baseline = { name: "raw kafkajs consume", value: o.raw.txPerS };
  const results: BenchResult[] = [
    { name: "baseline: raw kafkajs consume (no processing)", value: o.raw.txPerS, unit: "tx/s" },
  ];
  for (const r of o.runs)
    results.push({
      ...withBaseline(
        { name: `${r.processes} × att score: transfers → committed findings`, value: r.txPerS, unit: "tx/s" },
        baseline,
      ),
      ...(r.processes === 1
        ? { goal: `>= ${GOAL_TX_S.toLocaleString("en-US")}`, met: r.txPerS >= GOAL_TX_S }
        : {}),
    });
  for (const r of o.runs)
    if (r.txPerSAllJoined !== undefined)
      results.push(
        withBaseline(
          {
            name: `${r.processes} × att score: from the last process's join to done`,
            value: r.txPerSAllJoined,
            unit: "tx/s",
          },
          baseline,
        ),
      );
  const [first, second] = o.runs;
  if (first && second)
    results.push(
      withBaseline(
        {
          name: `scaling: ${second.processes} processes against ${first.processes}`,
          value: second.txPerS,
          unit: "tx/s",
        },
        { name: `${first.processes} process`, value: first.txPerS },
      ),
    );
  for (const r of o.runs)
    results.push({
      name: `${r.processes} × att score: start-up (spawn → group join), slowest`,
      value: Math.max(...r.startupMs) / 1000,
      unit: "s",
    });
  if (o.latency) {
    const l = o.latency.latency;
    const hop = o.latency.baseline;
    for (const p of ["p50", "p95", "p99"] as const)
      results.push(
        withBaseline(
          {
            name: `latency ${p} at ${l.rate} tx/s (observedAt → committed finding, read_committed)`,
            value: l.ms[p],
            unit: "ms",
            ...(p === "p99" ? { goal: `< ${GOAL_P99_MS}`, met: l.ms.p99 < GOAL_P99_MS } : {}),
          },
          { name: `one Kafka hop ${p} (produce → read_committed consumer)`, value: hop.ms[p] },
        ),
      );
    results.push({ name: "latency: achieved send rate", value: l.sentPerS, unit: "tx/s" });
  }
  const configured = (o.tuning ?? []).filter((t) => Object.keys(t.variant.env).length === 0);
  const asConfigured = configured.length
    ? configured.reduce((a, t) => a + t.run.txPerS, 0) / configured.length
    : undefined;
  for (const t of o.tuning ?? [])
    if (Object.keys(t.variant.env).length > 0)
      results.push(
        withBaseline(
          { name: `tuning: ${t.variant.label}`, value: t.run.txPerS, unit: "tx/s" },
          asConfigured
            ? { name: `as configured (mean of ${configured.length})`, value: asConfigured }
            : undefined,
        ),
      );
  if (asConfigured !== undefined)
    results.push({
      name: `tuning: as configured (smaller topic; ${configured.map((t) => fmt(t.run.txPerS)).join(" first, ")} last)`,
      value: asConfigured,
      unit: "tx/s",
    });
  report.results = results;

  report.memory = [
    ...o.runs.flatMap((r) =>
      r.peakRssMiB.map((m, i) => ({
        process: `att score (${r.processes}-process run, #${i + 1})`,
        peakRssMiB: m,
      })),
    ),
    ...(o.latency ? [{ process: "att score (latency run)", peakRssMiB: o.latency.peakRssMiB }] : []),
    ...(o.tuning?.length
      ? [
          {
            process: "att score (tuning runs, largest)",
            peakRssMiB: Math.max(...o.tuning.map((t) => t.run.peakRssMiB[0] ?? 0)),
          },
        ]
      : []),
    {
      process: "bench/e2e.ts (driver: traffic, baseline consumer, reader)",
      peakRssMiB: readRss()?.peakMiB ?? Number.NaN,
    },
  ];

  const byAlert = o.sample.reduce<Record<string, number>>(
    (acc, f) => ((acc[f] = (acc[f] ?? 0) + 1), acc),
    {},
  );
  report.notes.push(
    `Findings check: alert ids of the first ${o.sample.length} findings of the 1st run: ${Object.entries(
      byAlert,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    `Producing the pre-filled topic: ${fmt(o.n / o.produceSeconds)} tx/s. The raw consumer joined its group in ${fmt(o.raw.joinMs / 1000)} s.`,
  );
  if (byAlert["INVALID-TOKEN-TRANSFERS-TX"])
    report.notes.push("Some findings were INVALID: the enrichment cache was not warm for every transaction.");
  for (const r of o.runs)
    r.batches.forEach((b, i) => report.notes.push(breakdown(`${r.processes}-process run, #${i + 1}`, b)));
  for (const r of o.runs) report.notes.push(cpuNote(r, o.n));
  if (o.latency) {
    const l = o.latency.latency;
    report.notes.push(
      breakdown("Latency run", o.latency.batches, true),
      `Latency: ${l.sent} transactions measured after ${l.warmup.sent} warm-up ones (warm-up p99 ${fmt(l.warmup.ms.p99)} ms); ${l.missing} never seen committed within 60 s.`,
    );
  }
  for (const t of o.tuning ?? [])
    report.notes.push(breakdown(`Tuning "${t.variant.label}"`, t.run.batches[0]));
  if (o.profile) {
    const p = o.profile;
    report.notes.push(
      `Profile of one att score (${p.file}, ${fmt((p.totalMs - p.idleMs) / 1000)} s busy of ${fmt(p.totalMs / 1000)} s): top self time ${p.topFunctions
        .slice(0, 8)
        .map((f) => `${f.frame} ${fmt(f.share * 100)}%`)
        .join("; ")}. Project functions by total time (own + callees): ${p.inclusive
        .slice(0, 8)
        .map((f) => `${f.frame} ${fmt(f.share * 100)}%`)
        .join("; ")}. By area: ${p.byArea
        .slice(0, 8)
        .map((f) => `${f.frame} ${fmt(f.share * 100)}%`)
        .join("; ")}.`,
    );
  }
  report.details = {
    raw: o.raw,
    runs: o.runs,
    ...(o.latency ? { latency: o.latency } : {}),
    ...(o.tuning ? { tuning: o.tuning } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    findingsSample: byAlert,
  };
}

export function printE2e(report: BenchReport, profile: ProfileSummary | undefined): void {
  console.log("");
  console.log(
    benchTable(
      ["figure", "value", "unit", "baseline", "ratio", "goal"],
      report.results.map((r) => [
        r.name,
        fmt(r.value),
        r.unit,
        r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)}` : "",
        fmtRatio(r.ratio),
        r.goal ? `${r.goal} ${r.met ? "met" : "MISSED"}` : "",
      ]),
    ),
  );
  console.log("");
  console.log(
    benchTable(
      ["process", "peak RSS MiB"],
      report.memory.map((m) => [m.process, fmt(m.peakRssMiB)]),
    ),
  );
  console.log("");
  for (const n of report.notes) console.log(`- ${n}`);
  if (profile) {
    console.log(`\nTop self time of the profiled att score (${profile.file}):`);
    console.log(
      benchTable(
        ["function", "self ms", "share"],
        profile.topFunctions.map((f) => [f.frame, fmt(f.ms), `${fmt(f.share * 100)}%`]),
      ),
    );
    console.log("");
    console.log(
      benchTable(
        ["project function (total: own + callees)", "ms", "share"],
        profile.inclusive.map((f) => [f.frame, fmt(f.ms), `${fmt(f.share * 100)}%`]),
      ),
    );
    console.log("");
    console.log(
      benchTable(
        ["area", "self ms", "share"],
        profile.byArea.map((f) => [f.frame, fmt(f.ms), `${fmt(f.share * 100)}%`]),
      ),
    );
  }
}
