import { readdirSync, readFileSync } from "node:fs";

/** Peak and current resident set size of a process, from /proc/<pid>/status (KiB → MiB). */
export interface Rss {
  peakMiB: number;
  currentMiB: number;
}

export function readRss(pid: number | "self" = "self"): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    const peak = kib("VmHWM");
    if (!Number.isFinite(peak)) return undefined;
    return { peakMiB: peak / 1024, currentMiB: kib("VmRSS") / 1024 };
  } catch {
    return undefined; // exited, or not Linux
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // comm may contain spaces and parentheses: the fields after the last ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let pids: number[] = [];
  try {
    pids = readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [root];
  }
  for (const pid of pids) {
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface PeakRss {
  pid: number;
  command: string;
  peakMiB: number;
}

/**
 * Samples VmHWM (the kernel's own high-water mark) of watched processes — and, with
 * `tree: true`, of everything they spawn — every `intervalMs`, keeping the last value seen for
 * each pid: VmHWM only grows, so the last sample before exit is the peak (within one interval's
 * growth).
 */
export function createRssSampler(intervalMs = 250) {
  const roots = new Map<number, { label: string; tree: boolean }>();
  const peaks = new Map<number, PeakRss & { label: string }>();
  const sample = () => {
    for (const [root, { label, tree }] of roots) {
      for (const pid of tree ? processTree(root) : [root]) {
        const r = readRss(pid);
        if (!r) continue;
        const prev = peaks.get(pid);
        if (prev) prev.peakMiB = Math.max(prev.peakMiB, r.peakMiB);
        else peaks.set(pid, { pid, label, command: commandOf(pid), peakMiB: r.peakMiB });
      }
    }
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    watch(pid: number | undefined, label: string, opts: { tree?: boolean } = {}) {
      if (pid === undefined) return;
      roots.set(pid, { label, tree: opts.tree ?? false });
      sample();
    },
    /** Takes a last sample of `pid` (call just before stopping it) and stops watching it. */
    unwatch(pid: number | undefined) {
      if (pid === undefined) return;
      sample();
      roots.delete(pid);
    },
    sample,
    peaks: (): (PeakRss & { label: string })[] => [...peaks.values()],
    stop: () => clearInterval(timer),
  };
}
export type RssSampler = ReturnType<typeof createRssSampler>;
