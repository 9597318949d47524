import type { LiveStats, Summary } from "./tracker.js";

/**
 * The demo's terminal view: on a TTY a screen redrawn every second; otherwise one plain line
 * per interval (logs and CI stay readable).
 */
export interface ViewHeader {
  runId: string;
  chain: string;
  model: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ms = (x: number | undefined) => (x === undefined ? "-" : `${Math.round(x)} ms`);
const short = (h: string) => `${h.slice(0, 10)}…${h.slice(-4)}`;

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

export function renderScreen(h: ViewHeader, s: LiveStats, phase: string, width = 110): string {
  const lines = [
    `\x1b[1matt demo\x1b[0m  run ${h.runId}  ·  ${h.chain}  ·  model ${h.model}`,
    `${phase}`,
    "",
    `elapsed ${clock(s.elapsedS)}   blocks ${s.blocks}${s.lastBlock !== undefined ? ` (last #${s.lastBlock})` : ""}   sent ${s.sent} (${s.sentPerS.toFixed(1)} tx/s)   scored ${s.scoredPerS.toFixed(1)} tx/s   findings ${s.findings}`,
    `anomaly rate on normal traffic ${pct(s.anomalyRateNormal)}   exploits detected ${s.exploitsDetected}/${s.exploitsInjected}   latency p50 ${ms(s.latencyP50Ms)}  p99 ${ms(s.latencyP99Ms)}`,
    "",
    "\x1b[1mlatest anomalies\x1b[0m",
    ...(s.latest.length === 0
      ? ["  (none yet)"]
      : s.latest.map(
          (a) =>
            `  ${short(a.hash)}  ${(a.kind === "exploit" ? `exploit: ${a.template ?? ""}` : `${a.kind} (normal traffic)`).padEnd(28)} score ${a.score.toFixed(3)}  ${a.explanation}`,
        )),
    "",
    "Ctrl-C stops the demo and everything it started.",
  ].map((l) => (visibleLength(l) > width ? `${l.slice(0, width - 1)}…` : l));
  return `\x1b[H\x1b[2J${lines.join("\n")}\n`;
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

export function renderLine(s: LiveStats, phase: string): string {
  return `[demo ${clock(s.elapsedS)}] ${phase}: blocks ${s.blocks}, sent ${s.sent} (${s.sentPerS.toFixed(1)} tx/s), findings ${s.findings}, anomaly rate ${pct(s.anomalyRateNormal)}, exploits ${s.exploitsDetected}/${s.exploitsInjected}, latency p50 ${ms(s.latencyP50Ms)} p99 ${ms(s.latencyP99Ms)}\n`;
}

export function renderSummary(s: Summary, ok: boolean): string {
  const lat = s.latencyMs;
  return [
    "",
    `\x1b[1matt demo summary\x1b[0m ${ok ? "(targets met)" : "(TARGETS NOT MET)"}`,
    `  sent            ${s.sent.total} transactions (single ${s.sent.single}, swap ${s.sent.swap}, batch ${s.sent.batch}, exploit ${s.sent.exploit})`,
    `  findings        ${s.findings.total} (normal ${s.findings.normal}, anomalous ${s.findings.anomalous}, invalid ${s.findings.invalid}; missing ${s.findings.missing})`,
    `  exploits        ${s.exploits.detected}/${s.exploits.injected} detected (recall ${s.exploits.recall === null ? "-" : s.exploits.recall.toFixed(3)}, target >= 0.9)`,
    `  normal traffic  ${s.normal.anomalous}/${s.normal.scored} anomalous (rate ${s.normal.anomalyRate === null ? "-" : pct(s.normal.anomalyRate)}, target <= 1 %)`,
    `  latency         observedAt -> finding read: p50 ${ms(lat.p50)}, p90 ${ms(lat.p90)}, p99 ${ms(lat.p99)}, max ${ms(lat.max)} (n=${lat.n})`,
    ...(s.exploits.missed.length > 0
      ? [
          `  missed exploits ${s.exploits.missed.map((m) => `${short(m.hash)} ${m.template ?? ""} ${m.score?.toFixed(3) ?? m.alertId ?? "no finding"}`).join("; ")}`,
        ]
      : []),
    "",
  ].join("\n");
}
