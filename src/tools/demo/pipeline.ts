import { join } from "node:path";
import type { Logger } from "../../kernel/logger.js";
import { sleep } from "../../kernel/shutdown.js";
import { SimulateError } from "../simulate/errors.js";
import { freePort } from "../../kernel/net.js";
import { startProcess, type ManagedProcess } from "./processes.js";

/** The demo's pipeline: `att ingest`, `att enrich` and `att score` as child processes. */
export interface DemoPipeline {
  stages: ManagedProcess[];
  /** Resolves when every stage's /readyz answers 200; rejects if one exits first. */
  ready(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Stops ingest first (no new messages), then score (finishes its batch), then enrich. */
  stop(graceMs: number): Promise<Record<string, number | string>>;
  /** The first stage that exited on its own, if any. */
  failed(): ManagedProcess | undefined;
}

export interface StageSpec {
  name: "ingest" | "enrich" | "score";
  args: string[];
}

/** How to run `att <stage>` the way this process runs: same node, same loader flags, same entry. */
export function attCommand(): { command: string; args: string[] } {
  const entry = process.argv[1];
  if (!entry) throw new Error("cannot tell how att was started (no process.argv[1])");
  return { command: process.execPath, args: [...process.execArgv, entry] };
}

export async function startPipeline(opts: {
  env: NodeJS.ProcessEnv;
  logDir: string;
  logger: Logger;
  stages?: StageSpec[];
}): Promise<DemoPipeline> {
  const att = attCommand();
  const stages = opts.stages ?? [
    { name: "enrich", args: ["enrich"] },
    { name: "score", args: ["score"] },
    { name: "ingest", args: ["ingest"] },
  ];
  const started: { proc: ManagedProcess; port: number }[] = [];
  for (const s of stages) {
    const port = await freePort();
    const proc = startProcess({
      name: s.name,
      command: att.command,
      args: [...att.args, ...s.args],
      env: { ...opts.env, ATT_METRICS_PORT: String(port), ATT_METRICS_HOST: "127.0.0.1" },
      logFile: join(opts.logDir, `${s.name}.log`),
    });
    opts.logger.info({
      msg: "Stage started",
      stage: s.name,
      pid: proc.pid,
      metrics_port: port,
      log: proc.logFile,
    });
    started.push({ proc, port });
  }
  const failed = () => started.find((s) => !s.proc.running())?.proc;
  return {
    stages: started.map((s) => s.proc),
    failed,
    async ready(timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      const pending = new Set(started);
      while (pending.size > 0) {
        const dead = failed();
        if (dead) {
          throw new SimulateError(`Demo stage ${dead.name} exited during start-up`, {
            code: "ATT_DEMO_STAGE_FAILED",
            details: [`Exit: ${String(await dead.exited)}`, `Log: ${dead.logFile}`],
          });
        }
        for (const s of [...pending]) {
          const ok = await fetch(`http://127.0.0.1:${s.port}/readyz`, { signal: AbortSignal.timeout(1000) })
            .then((r) => r.ok)
            .catch(() => false);
          if (ok) pending.delete(s);
        }
        if (pending.size === 0) break;
        if (Date.now() > deadline) {
          throw new SimulateError("Demo stages not ready in time", {
            code: "ATT_DEMO_STAGE_TIMEOUT",
            details: [...pending].map((s) => `${s.proc.name}: not ready (log ${s.proc.logFile})`),
          });
        }
        await sleep(250, signal);
      }
    },
    async stop(graceMs) {
      const codes: Record<string, number | string> = {};
      const order = ["ingest", "score", "enrich"];
      const sorted = [...started].sort((a, b) => order.indexOf(a.proc.name) - order.indexOf(b.proc.name));
      for (const s of sorted) codes[s.proc.name] = await s.proc.stop(graceMs);
      return codes;
    },
  };
}
