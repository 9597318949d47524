import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

/** What a benchmark ran on: absolute figures drift between (and on) these shared machines. */
export interface Machine {
  nproc: number;
  cpu: string;
  ramGiB: number;
  node: string;
  kernel: string;
}

export function describeMachine(): Machine {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()'s model
  }
  return {
    nproc: cpus().length,
    cpu,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
  };
}

/** 1, 5 and 15 minute load averages, rounded. */
export function load(): [number, number, number] {
  const [a, b, c] = loadavg();
  const r = (x: number | undefined) => Math.round((x ?? 0) * 100) / 100;
  return [r(a), r(b), r(c)];
}

export function machineLine(m: Machine): string {
  return `${m.nproc} × ${m.cpu}, ${m.ramGiB} GiB RAM, Node ${m.node}, Linux ${m.kernel}`;
}
