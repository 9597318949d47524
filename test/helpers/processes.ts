import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const LOG_DIR = fileURLToPath(new URL("../../.local/logs/tests/", import.meta.url));

export interface AttResult {
  /** Exit code; null when a signal (e.g. the timeout) ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `att <args>` (the real CLI through tsx, from the repository root) to completion without
 * blocking the event loop, so that consumers or servers of the same test keep running.
 */
export function runAtt(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<AttResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", CLI, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

export interface AttProcess {
  child: ChildProcess;
  name: string;
  exited: Promise<number | null>;
  /** SIGKILL, then wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves when the output matches `pattern` (rejects if the process exits first or on timeout). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs `att <args>` as a child process (the real CLI through tsx), output appended to
 * .local/logs/tests/<name>.log; killed when the test ends if still running.
 */
export function spawnAtt(name: string, args: string[], env: Record<string, string>): AttProcess {
  mkdirSync(LOG_DIR, { recursive: true });
  const log = createWriteStream(`${LOG_DIR}${name}.log`, { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  let text = "";
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      for (const l of listeners) l();
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, sig) => resolve(code ?? (sig ? -1 : null))),
  );
  const p: AttProcess = {
    child,
    name,
    exited,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    output: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`${name} exited before printing ${pattern}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("exit", onExit);
        };
        listeners.add(check);
        child.once("exit", onExit);
        check();
      });
    },
  };
  onTestFinished(async () => {
    await p.kill("SIGKILL");
    log.end();
  });
  return p;
}
