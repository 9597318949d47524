/**
 * A private Kafka broker or Redis for fault tests that SIGKILL them: the shared stack on the
 * default ports must never be killed by a test. Each is started by deploy/local/stack.sh itself
 * (the same broker config, storage format and metadata readiness wait as the shared stack; Redis
 * with its append-only file) in its own state folder (ATT_LOCAL_DIR) on its own ports; the Kafka
 * jars of the shared stack are reused, not fetched again.
 *
 * @example
 *   const kafka = await startPrivateKafka();          // stopped and removed when the test ends
 *   // … produce to kafka.brokers …
 *   await kafka.kill();                               // SIGKILL, no clean shutdown
 *   await kafka.start();                              // same ports, same data folder
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { tcpReachable } from "../../src/kernel/net.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const STACK_SCRIPT = join(REPO, "deploy", "local", "stack.sh");

/** The shared stack's jars (broker, and the CLI tools in tools/): the same rule as stack.sh. */
export const JARS_DIR = resolve(
  REPO,
  process.env.ATT_JARS_DIR ?? join(process.env.ATT_LOCAL_DIR ?? ".local", "jars"),
);

export interface StackResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `deploy/local/stack.sh <args>` with the shared jars and `env` on top of this process's. */
export function runStackScript(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<StackResult> {
  return new Promise((done) => {
    const child = execFile(
      "bash",
      [STACK_SCRIPT, ...args],
      {
        cwd: REPO,
        env: { ...process.env, ATT_JARS_DIR: JARS_DIR, ...env },
        timeout: timeoutMs,
        maxBuffer: 256 << 20,
      },
      (_err, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
    );
  });
}

async function stackOrThrow(args: string[], env: Record<string, string>): Promise<void> {
  const r = await runStackScript(args, env);
  if (r.code !== 0) {
    const tail = `${r.stdout}${r.stderr}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`deploy/local/stack.sh ${args.join(" ")} exited ${r.code}:\n${tail}`);
  }
}

/**
 * A port where nothing listens, below Linux's ephemeral range (32768–60999) so that an outgoing
 * connection cannot take it between a kill and the restart on the same port.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30_100 + Math.floor(Math.random() * 2_600);
    const free = await new Promise<boolean>((ok) => {
      const srv = createServer();
      srv.once("error", () => ok(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
    });
    if (free) return port;
  }
  throw new Error("freePort: no free port in 30100–32699 after 50 tries");
}

/** Fields of /proc/<pid>/stat after "pid (comm)": [state, ppid, pgrp, …]; undefined if gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    return st.slice(st.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * True while any thread of the process runs. A killed daemon is reparented to init, which may
 * reap it late: a zombie counts as gone, but only once its last thread has exited — a SIGKILLed
 * JVM is a zombie leader whose other threads still tear down (its ports still open) for a moment.
 */
export function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && (st[0] !== "Z" || Number(st[17]) > 1); // st[17]: num_threads
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** SIGKILL to the process group the pid leads (stack.sh starts Kafka with setsid; Redis daemonizes). */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  const leader = procStat(pid)?.[2] === String(pid);
  try {
    process.kill(leader ? -pid : pid, signal);
  } catch {
    // already gone
  }
}

const portOpen = (port: number) => tcpReachable("127.0.0.1", port);

/** Waits until the process is gone and nothing listens on its ports any more. */
async function waitDead(pid: number, ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await Promise.all(ports.map(portOpen));
    if (!alive(pid) && !open.includes(true)) return;
    if (Date.now() > deadline) {
      throw new Error(`pid ${pid} (ports ${ports.join(", ")}) still alive after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Safety net: a test worker that dies leaves no private broker behind (normal cleanup is
// onTestFinished or destroy()).
const live = new Set<PrivateService>();
process.once("exit", () => {
  for (const s of live) {
    const pid = s.pid();
    if (pid !== undefined) killGroup(pid, "SIGKILL");
    if (s.ownsDir) rmSync(s.dir, { recursive: true, force: true });
  }
});

export interface PrivateServiceOptions {
  /** State folder (ATT_LOCAL_DIR) for the stack script; default a new temporary folder. */
  dir?: string;
  /**
   * "test" (default): destroyed when the current test ends (onTestFinished; call inside a test).
   * "manual": the caller calls destroy(), e.g. in afterAll for a service shared by a file.
   */
  cleanup?: "test" | "manual";
}

/** What a private Kafka and a private Redis have in common. */
export interface PrivateService {
  readonly service: "kafka" | "redis";
  /** The stack's state folder (ATT_LOCAL_DIR): data, logs/, run/<service>.pid. */
  readonly dir: string;
  /** True when the folder was made here and destroy() removes it. */
  readonly ownsDir: boolean;
  /** Environment for deploy/local/stack.sh that addresses this private stack. */
  readonly env: Record<string, string>;
  /** The pid of the running server, from its pid file; undefined when it is not running. */
  pid(): number | undefined;
  /** Starts it, or starts it again on the same ports and data after kill()/stop(); waits until ready. */
  start(): Promise<void>;
  /** SIGKILL (no clean shutdown: no flush, no controlled shutdown); resolves once it is gone, with its pid. */
  kill(): Promise<number>;
  /** Clean stop (SIGTERM through stack.sh stop). */
  stop(): Promise<void>;
  /** Kills it if running and removes the folder if it was made here. Idempotent. */
  destroy(): Promise<void>;
  /** The last lines of its logs, for failure messages. */
  logs(lines?: number): string;
}

export interface PrivateKafka extends PrivateService {
  readonly port: number;
  readonly controllerPort: number;
  /** ["127.0.0.1:<port>"] for a kafkajs client. */
  readonly brokers: string[];
  /** "127.0.0.1:<port>" for Kafka's CLI tools (--bootstrap-server). */
  readonly bootstrap: string;
}

export interface PrivateRedis extends PrivateService {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
}

function createPrivateService(
  service: "kafka" | "redis",
  env: Record<string, string>,
  opts: PrivateServiceOptions,
  ownsDir: boolean,
  dir: string,
  ports: number[],
  isOurs: (cmd: string) => boolean,
): PrivateService {
  let destroyed = false;
  const s: PrivateService = {
    service,
    dir,
    ownsDir,
    env,
    pid() {
      let pid: number;
      try {
        pid = Number(readFileSync(join(dir, "run", `${service}.pid`), "utf8").trim());
      } catch {
        return undefined;
      }
      return pid > 0 && alive(pid) && isOurs(cmdline(pid)) ? pid : undefined;
    },
    async start() {
      if (destroyed) throw new Error(`private ${service} in ${dir} was destroyed`);
      live.add(s);
      await stackOrThrow(["start", service], env);
    },
    async kill() {
      const pid = s.pid();
      if (pid === undefined) throw new Error(`private ${service} in ${dir} is not running`);
      killGroup(pid, "SIGKILL");
      await waitDead(pid, ports, 10_000);
      return pid;
    },
    async stop() {
      await stackOrThrow(["stop", service], env);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const pid = s.pid();
      if (pid !== undefined) {
        killGroup(pid, "SIGKILL");
        await waitDead(pid, ports, 10_000);
      }
      live.delete(s);
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    logs(lines = 40) {
      const files = service === "kafka" ? ["kafka.log", "kafka.console.log"] : ["redis.log"];
      return files
        .map((f) => {
          try {
            const text = readFileSync(join(dir, "logs", f), "utf8")
              .trimEnd()
              .split("\n");
            return `----- ${f}\n${text.slice(-lines).join("\n")}`;
          } catch {
            return `----- ${f}: none`;
          }
        })
        .join("\n");
    },
  };
  if ((opts.cleanup ?? "test") === "test") onTestFinished(() => s.destroy());
  return s;
}

async function startOrDestroy(s: PrivateService): Promise<void> {
  try {
    await s.start();
  } catch (err) {
    const logs = s.logs();
    await s.destroy();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

function stateDir(prefix: string, dir?: string): { dir: string; ownsDir: boolean } {
  return dir
    ? { dir: resolve(dir), ownsDir: false }
    : { dir: mkdtempSync(join(tmpdir(), prefix)), ownsDir: true };
}

/**
 * Starts a private single-node Kafka (KRaft) with `deploy/local/stack.sh start kafka` in its own
 * state folder and ports (free ones unless given), and waits like the shared stack does: metadata
 * answers, and one transaction with consumer-group offsets has committed (so __transaction_state
 * and __consumer_offsets exist). 5–10 s on 2 cores, and ~5 s again after a SIGKILL.
 */
export async function startPrivateKafka(
  opts: PrivateServiceOptions & {
    port?: number;
    controllerPort?: number;
    /** ATT_KAFKA_HEAP; default 384m. */
    heap?: string;
    /** broker.session.timeout.ms; default 2000 (the shared stack keeps Kafka's 9000). */
    sessionTimeoutMs?: number;
  } = {},
): Promise<PrivateKafka> {
  const port = opts.port ?? (await freePort());
  let controllerPort = opts.controllerPort ?? (await freePort());
  while (controllerPort === port) controllerPort = await freePort();
  const { dir, ownsDir } = stateDir("att-private-kafka-", opts.dir);
  const env: Record<string, string> = {
    ATT_LOCAL_DIR: dir,
    ATT_KAFKA_PORT: String(port),
    ATT_KAFKA_CONTROLLER_PORT: String(controllerPort),
    ATT_KAFKA_HEAP: opts.heap ?? "384m",
    // A restart after SIGKILL waits for the killed incarnation's broker session to expire:
    // ready in ~5 s with 2 s instead of ~14 s with Kafka's 9 s (deploy/local/stack.sh).
    ATT_KAFKA_SESSION_TIMEOUT_MS: String(opts.sessionTimeoutMs ?? 2000),
  };
  const serverProperties = join(dir, "conf", "server.properties");
  const base = createPrivateService("kafka", env, opts, ownsDir, dir, [port, controllerPort], (cmd) =>
    cmd.includes(serverProperties),
  );
  const kafka: PrivateKafka = Object.assign(base, {
    port,
    controllerPort,
    brokers: [`127.0.0.1:${port}`],
    bootstrap: `127.0.0.1:${port}`,
  });
  await startOrDestroy(kafka);
  return kafka;
}

/**
 * Starts a private redis-server with `deploy/local/stack.sh start redis`: its own port and state
 * folder, append-only file (appendfsync everysec) in <dir>/redis-data, noeviction.
 */
export async function startPrivateRedis(
  opts: PrivateServiceOptions & { port?: number } = {},
): Promise<PrivateRedis> {
  const port = opts.port ?? (await freePort());
  const { dir, ownsDir } = stateDir("att-private-redis-", opts.dir);
  const env: Record<string, string> = { ATT_LOCAL_DIR: dir, ATT_REDIS_PORT: String(port) };
  const base = createPrivateService(
    "redis",
    env,
    opts,
    ownsDir,
    dir,
    [port],
    (cmd) => cmd.includes("redis-server") && cmd.includes(`:${port}`),
  );
  const redis: PrivateRedis = Object.assign(base, { port, url: `redis://127.0.0.1:${port}` });
  await startOrDestroy(redis);
  return redis;
}
