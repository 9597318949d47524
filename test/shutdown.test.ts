import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { createLogger } from "../src/kernel/logger.js";
import { createShutdown } from "../src/kernel/shutdown.js";

const CHILD = fileURLToPath(new URL("./fixtures/processes/shutdown-child.ts", import.meta.url));

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ destination, level: "debug" }), lines };
}

/** Starts the child, waits for "Ready", sends the signals and resolves with its exit code and output. */
async function signalChild(
  mode: string,
  signals: { signal: NodeJS.Signals; afterMs: number }[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; ms: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes('"msg":"Ready"')) resolve();
    });
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    void exited.then(() => reject(new Error(`child exited before it was ready: ${out}`)));
  });
  const t0 = Date.now();
  for (const s of signals) {
    await new Promise((r) => setTimeout(r, s.afterMs));
    child.kill(s.signal);
  }
  const code = await exited;
  return { code, out, ms: Date.now() - t0 };
}

describe("shutdown registry", () => {
  it("runs every teardown once, last registered first, past a failing one; close is idempotent", async () => {
    const { logger, lines } = memoryLogger();
    const shutdown = createShutdown({ logger, graceMs: 1000 });
    const order: string[] = [];
    shutdown.register("kafka", () => {
      order.push("kafka");
    });
    shutdown.register("redis", () => {
      throw new Error("redis already closed");
    });
    shutdown.register("http", async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push("http");
    });
    expect(shutdown.signal.aborted).toBe(false);
    const first = shutdown.close("test over");
    const second = shutdown.close("again");
    expect(second).toBe(first);
    expect(shutdown.signal.aborted).toBe(true);
    expect((shutdown.signal.reason as Error).message).toBe("test over");
    await first;
    await shutdown.close();
    expect(order).toEqual(["http", "kafka"]);
    const failed = lines.filter((l) => l.msg === "Cleanup failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.component).toBe("redis");
    expect(lines.filter((l) => l.msg === "Shutting down")).toHaveLength(1);
    expect(lines.filter((l) => l.msg === "Shutdown complete")).toHaveLength(1);
  });

  it("runs a teardown registered after shutdown began at once, and close waits for it", async () => {
    const { logger, lines } = memoryLogger();
    const shutdown = createShutdown({ logger, graceMs: 1000 });
    const order: string[] = [];
    // A resource whose start-up was still running when shutdown began registers from a teardown.
    shutdown.register("early", async () => {
      order.push("early");
      shutdown.register("opened-during-shutdown", async () => {
        await new Promise((r) => setTimeout(r, 20));
        order.push("opened-during-shutdown");
      });
    });
    await shutdown.close("test over");
    expect(order).toEqual(["early", "opened-during-shutdown"]);

    let ran = false;
    shutdown.register("opened-after-shutdown", () => {
      ran = true;
    });
    expect(ran).toBe(true);
    shutdown.register("failing-after-shutdown", () => {
      throw new Error("already gone");
    });
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.msg === "Cleanup failed").map((l) => l.component)).toEqual([
      "failing-after-shutdown",
    ]);
    expect(lines.filter((l) => l.msg === "Shutdown complete")).toHaveLength(1);
  });

  it("SIGTERM runs the teardowns and exits 0", async () => {
    const r = await signalChild("quick", [{ signal: "SIGTERM", afterMs: 0 }]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('"msg":"Teardown finished"');
    expect(r.out).toContain('"reason":"received SIGTERM"');
  });

  it("exits 1 when the teardowns outlast the grace period", async () => {
    const r = await signalChild("hang", [{ signal: "SIGTERM", afterMs: 0 }], { GRACE_MS: "500" });
    expect(r.code).toBe(1);
    expect(r.out).toContain('"msg":"Teardown started"');
    expect(r.out).toContain('"msg":"Shutdown grace period exceeded, exiting"');
    expect(r.out).not.toContain('"msg":"Teardown finished"');
  });

  it("a second signal exits at once with 130, without waiting for the teardowns", async () => {
    const r = await signalChild(
      "slow",
      [
        { signal: "SIGINT", afterMs: 0 },
        { signal: "SIGINT", afterMs: 300 },
      ],
      { GRACE_MS: "60000" },
    );
    expect(r.code).toBe(130);
    expect(r.out).toContain('"msg":"Second signal, exiting now"');
    expect(r.out).not.toContain('"msg":"Teardown finished"');
  });
});
