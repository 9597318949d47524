import { execFile, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { spawnChild } from "./child-process.js";

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
  const c = spawnChild(name, process.execPath, ["--import", "tsx", CLI, ...args], {
    logDir: LOG_DIR,
    appendLog: true,
    env,
  });
  const p: AttProcess = {
    child: c.child,
    name,
    exited: c.exited,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(signal);
      return c.exited;
    },
    output: c.output,
    async waitFor(pattern, timeoutMs = 60_000) {
      await c.waitFor(pattern, timeoutMs);
    },
  };
  onTestFinished(async () => {
    await p.kill("SIGKILL");
  });
  return p;
}
