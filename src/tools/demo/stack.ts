import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../kernel/logger.js";
import { tcpReachable } from "../../kernel/net.js";
import { SimulateError } from "../simulate/errors.js";

/**
 * Kafka and Redis for the demo and `npm run bench`: the running local stack, or started (and
 * later stopped, by the demo) with deploy/local/stack.sh.
 */
export interface DemoStack {
  /** Services this demo started with deploy/local/stack.sh (stopped by `stop`). */
  started: string[];
  stop(): Promise<void>;
}

const STACK_SCRIPT = fileURLToPath(new URL("../../../deploy/local/stack.sh", import.meta.url));

function reachable(hostPort: string, timeoutMs = 1000): Promise<boolean> {
  const [host, port] = splitHostPort(hostPort);
  return tcpReachable(host, port, timeoutMs);
}

function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(":");
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}

/** The logger calls of this module; the benchmarks pass their progress line. */
type StackLogger = Pick<Logger, "info">;

/** Whether Kafka (its first broker) and Redis answer at these addresses. */
export async function stackReachable(
  kafkaBrokers: readonly string[],
  redisUrl: string,
): Promise<{ kafka: boolean; redis: boolean }> {
  const [kafka, redis] = await Promise.all([reachable(kafkaBrokers[0]!), reachable(redisHostPort(redisUrl))]);
  return { kafka, redis };
}

function redisHostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "6379"}`;
}

function runStackScript(args: string[], logger: StackLogger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [STACK_SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      logger.info({
        msg: "deploy/local/stack.sh",
        args: args.join(" "),
        code,
        output: out.trim().split("\n").slice(-5),
      });
      if (code === 0) resolve();
      else
        reject(
          new SimulateError(`deploy/local/stack.sh ${args.join(" ")} failed (exit ${code})`, {
            code: "ATT_DEMO_STACK_FAILED",
            details: out.trim().split("\n").slice(-10),
          }),
        );
    });
  });
}

/**
 * Makes sure Kafka and Redis answer at their configured addresses. Missing ones are started
 * with deploy/local/stack.sh (only when they are configured on 127.0.0.1 — a remote broker the
 * demo cannot start) and are stopped again by `stop()`.
 */
export async function ensureStack(opts: {
  kafkaBrokers: readonly string[];
  redisUrl: string;
  logger: StackLogger;
}): Promise<DemoStack> {
  const redisHp = redisHostPort(opts.redisUrl);
  const up = await stackReachable(opts.kafkaBrokers, opts.redisUrl);
  const missing = [...(up.kafka ? [] : ["kafka"]), ...(up.redis ? [] : ["redis"])];
  if (missing.length === 0) return { started: [], stop: async () => {} };
  const local = (hp: string) => /^(127\.0\.0\.1|localhost):/.test(hp);
  if (!local(opts.kafkaBrokers[0]!) || !local(redisHp) || !existsSync(STACK_SCRIPT)) {
    throw new SimulateError(`Not reachable: ${missing.join(", ")}`, {
      code: "ATT_DEMO_STACK_DOWN",
      details: [
        `Kafka: ${opts.kafkaBrokers.join(",")}`,
        `Redis: ${redisHp}`,
        "Fix: deploy/local/stack.sh start",
      ],
    });
  }
  opts.logger.info({ msg: "Starting local services", services: missing });
  await runStackScript(["start", ...missing], opts.logger);
  return {
    started: missing,
    stop: () => runStackScript(["stop", ...missing], opts.logger),
  };
}
