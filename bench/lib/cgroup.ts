import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";

/** cgroup v1's CPU controller (cgroup v2 mounts everything under /sys/fs/cgroup itself). */
const V1_CPU = "/sys/fs/cgroup/cpu";
const PERIOD_US = 100_000;

export interface CpuCap {
  /** The group's directory. */
  readonly dir: string;
  /** Moves a process (all its threads) into the group. */
  add(pid: number): void;
  /** Removes the group (its processes must have exited or moved). */
  remove(): void;
}

/**
 * Why CPU caps cannot be set here, or undefined when they can: a cgroup v1 CPU controller we may
 * create groups in (root, /sys/fs/cgroup/cpu writable). cgroup v2 would need the cpu controller
 * delegated to our subtree; not implemented (this machine has v1).
 */
export function cpuCapUnavailable(): string | undefined {
  if (!existsSync(`${V1_CPU}/cpu.cfs_quota_us`))
    return `no cgroup v1 CPU controller at ${V1_CPU} (cgroup v2 or none)`;
  const probe = `${V1_CPU}/att-bench-probe-${process.pid}`;
  try {
    mkdirSync(probe);
    writeFileSync(`${probe}/cpu.cfs_quota_us`, "10000");
    rmdirSync(probe);
    return undefined;
  } catch (err) {
    return `cannot create a cgroup under ${V1_CPU}: ${(err as Error).message} (run as root)`;
  }
}

/**
 * A cgroup v1 CPU group capped at `cpus` CPUs (CFS quota over a 100 ms period): its processes
 * together get at most that much CPU time, whatever else the machine runs.
 */
export function createCpuCap(name: string, cpus: number): CpuCap {
  const dir = `${V1_CPU}/${name}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/cpu.cfs_period_us`, String(PERIOD_US));
  writeFileSync(`${dir}/cpu.cfs_quota_us`, String(Math.round(cpus * PERIOD_US)));
  return {
    dir,
    add(pid) {
      writeFileSync(`${dir}/cgroup.procs`, String(pid));
    },
    remove() {
      try {
        rmdirSync(dir);
      } catch {
        // still has a process (it is being reaped): the kernel keeps the empty group harmlessly
      }
    },
  };
}
