import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Child processes of tests and benchmarks: logged to a file, awaited by their output. */

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface Child {
  readonly child: ChildProcess;
  readonly name: string;
  readonly pid: number | undefined;
  /** performance.now() at spawn. */
  readonly startedAt: number;
  /** Exit code (or -1 after a signal). */
  readonly exited: Promise<number>;
  readonly logFile: string;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /**
   * Resolves with performance.now() at the moment a line matching `pattern` was printed;
   * rejects when the process exits first or after `timeoutMs`.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<number>;
  /** `signal` (default SIGTERM), SIGKILL after `graceMs`; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
}

/**
 * Spawns a child process (from the repository root) with its output written to
 * `<logDir><name>.log` (replaced, or appended with `appendLog`) and kept in memory for `waitFor`.
 * `echoStderr` / `echoStdout` also pass its output through to ours; `keepOutput: false` keeps
 * only the last 64 KiB.
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  opts: {
    logDir: string;
    appendLog?: boolean;
    env?: Record<string, string>;
    echoStderr?: boolean;
    echoStdout?: boolean;
    keepOutput?: boolean;
  },
): Child {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = `${opts.logDir}${name}.log`;
  const log = createWriteStream(logFile, { flags: opts.appendLog ? "a" : "w" });
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const startedAt = performance.now();
  const keep = opts.keepOutput ?? true;
  let text = "";
  const listeners = new Set<(chunk: string, at: number) => void>();
  const onData = (echo: NodeJS.WriteStream | undefined) => (chunk: Buffer) => {
    const at = performance.now();
    const s = chunk.toString();
    log.write(chunk);
    if (echo) echo.write(chunk);
    if (keep) text += s;
    else text = (text + s).slice(-65_536);
    for (const l of listeners) l(s, at);
  };
  child.stdout!.on("data", onData(opts.echoStdout ? process.stdout : undefined));
  child.stderr!.on("data", onData(opts.echoStderr ? process.stderr : undefined));
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, sig) => {
      log.end();
      resolve(code ?? (sig ? -1 : 0));
    }),
  );
  child.once("error", (err) => log.write(`spawn error: ${err.message}\n`));

  return {
    child,
    name,
    pid: child.pid,
    startedAt,
    exited,
    logFile,
    output: () => text,
    waitFor(pattern, timeoutMs = 120_000) {
      return new Promise<number>((resolve, reject) => {
        let tail = "";
        const check = (s: string, at: number) => {
          // Lines may be split across chunks: look at the end of the previous chunk too.
          tail = (tail + s).slice(-8192);
          if (pattern.test(tail)) {
            cleanup();
            resolve(at);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: nothing matching ${pattern} within ${timeoutMs} ms (log: ${logFile})`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`${name} exited before printing ${pattern} (log: ${logFile})`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("exit", onExit);
        };
        if (pattern.test(text)) {
          clearTimeout(timer);
          resolve(performance.now());
          return;
        }
        listeners.add(check);
        child.once("exit", onExit);
      });
    },
    async stop(signal = "SIGTERM", graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
