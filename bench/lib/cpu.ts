import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_S = 100;

/** User + system CPU seconds a process has used so far (undefined once it is gone). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // after "pid (comm) ": state is field 3 → index 0; utime 14 → 11; stime 15 → 12
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** Pids whose command line matches `pattern` (e.g. the Kafka broker: /kafka\.Kafka/). */
export function findPids(pattern: RegExp): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
      if (pattern.test(cmd)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The local stack's server processes, to charge their CPU to what a benchmark phase made them do. */
export function stackProcesses(): { label: string; pid: number }[] {
  return [
    ...findPids(/kafka\.Kafka /).map((pid) => ({ label: "Kafka broker", pid })),
    ...findPids(/^redis-server /).map((pid) => ({ label: "Redis", pid })),
  ];
}

/** CPU seconds used by each of `procs` between `start()` and `stop()`. */
export function cpuMeter(procs: { label: string; pid: number }[]) {
  let first = new Map<number, number>();
  return {
    start() {
      first = new Map(procs.map((p) => [p.pid, cpuSeconds(p.pid) ?? Number.NaN]));
    },
    stop(): { label: string; seconds: number }[] {
      return procs.map((p) => ({
        label: p.label,
        seconds: (cpuSeconds(p.pid) ?? Number.NaN) - first.get(p.pid)!,
      }));
    },
  };
}
