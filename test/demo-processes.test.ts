import { spawn } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0) until reaped; it runs nothing.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
};

describe("demo child processes", () => {
  it.skipIf(process.platform !== "linux" || !existsSync("/usr/bin/setpriv"))(
    "end when the demo process is SIGKILLed (no exit handler runs)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "att-demo-proc-"));
      // A stand-in for `att demo`: starts a long-running child the way the demo does, prints its pid.
      const script = `
        import { startProcess } from ${JSON.stringify(join(process.cwd(), "src/tools/demo/processes.ts"))};
        const p = startProcess({ name: "sleeper", command: "sleep", args: ["60"], logFile: ${JSON.stringify(join(dir, "sleeper.log"))} });
        console.log(p.pid);
        setInterval(() => {}, 1000);
      `;
      const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const childPid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
        parent.once("exit", (code) => reject(new Error(`parent exited early (${code})`)));
      });
      expect(alive(childPid)).toBe(true);
      parent.kill("SIGKILL");
      await expect.poll(() => alive(childPid), { timeout: 5000, interval: 100 }).toBe(false);
    },
  );
});
