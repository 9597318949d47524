import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Child processes the demo starts (pipeline stages, a private anvil), each with its output
 * in a log file, and stopped with SIGTERM, then SIGKILL after a grace period. Every child is
 * tracked so that an interrupted demo leaves nothing running.
 */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  stop(graceMs: number): Promise<number | string>;
}

/** util-linux's setpriv (Linux): sets the parent-death signal, then execs the command. */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find(
  (p) => process.platform === "linux" && existsSync(p),
);

export function startProcess(opts: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  cwd?: string;
}): ManagedProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: "a" });
  // detached: own process group, so a Ctrl-C in the terminal reaches only the demo, which
  // then stops its children in order (ingest last) instead of all at once.
  // Under setpriv --pdeathsig, the child gets SIGTERM if the demo itself dies (even by SIGKILL,
  // where no exit handler runs); setpriv execs the command, so the pid stays the child's.
  const [command, args] = SETPRIV
    ? [SETPRIV, ["--pdeathsig", "SIGTERM", "--", opts.command, ...opts.args]]
    : [opts.command, opts.args];
  const child: ChildProcess = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let code: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (c, signal) => {
      code = c ?? signal ?? "unknown";
      resolve(code);
    });
    child.once("error", (err) => {
      log.write(`spawn error: ${err.message}\n`);
      code = "spawn-error";
      resolve(code);
    });
  });
  void exited.then(() => log.end());
  live.add(child);
  void exited.then(() => live.delete(child));
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    logFile: opts.logFile,
    exited,
    running: () => code === undefined,
    async stop(graceMs) {
      if (code !== undefined) return code;
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (code === undefined) child.kill("SIGKILL");
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

const live = new Set<ChildProcess>();

/** Last resort on process exit: SIGKILL whatever is still running (synchronous). */
process.once("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});
