/**
 * A private Redis that fails over, for tests: two redis-servers (primary + replica) and three
 * sentinels (quorum 2), started by deploy/local/redis-ha.sh itself (the same AOF, noeviction and
 * "a returning node rejoins as a replica" rules as the local stack) in a temporary state folder,
 * on fixed ports 19500-19512 — one at a time per machine. Fast failure detection for tests:
 * down-after-milliseconds 1000, failover-timeout 3000.
 *
 * @example
 *   const ha = await startRedisHa();           // destroyed when the test ends
 *   const env = { ATT_REDIS_URL: ha.url };     // redis+sentinel://127.0.0.1:19510,…/att-ha
 *   const old = await ha.primaryPort();
 *   await ha.killNode(old);                    // SIGKILL
 *   await ha.waitPrimaryNot(old, 30_000);      // Sentinel promoted the replica
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { onTestFinished } from "vitest";
import { alive } from "./private-stack.js";
import { tcpReachable } from "../../src/kernel/net.js";
import { sleep } from "../../src/kernel/shutdown.js";

const SCRIPT = fileURLToPath(new URL("../../deploy/local/redis-ha.sh", import.meta.url));

export const HA_NODE_PORTS = [19500, 19501] as const;
export const HA_SENTINEL_PORTS = [19510, 19511, 19512] as const;
const MASTER = "att-ha";

export interface RedisHa {
  /** The state folder (ATT_LOCAL_DIR); redis-ha/logs has every process's log. */
  readonly dir: string;
  /** ATT_REDIS_URL: redis+sentinel://<the three sentinels>/att-ha */
  readonly url: string;
  readonly masterName: string;
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /** Waits until the sentinels name a primary other than `port`, which also answers ROLE master; returns its port. */
  waitPrimaryNot(port: number, timeoutMs: number): Promise<number>;
  /** Waits until the node on `port` is a replica whose link to its primary is up. */
  waitReplicaSynced(port: number, timeoutMs: number): Promise<void>;
  /** SIGKILL of one node; resolves once it is gone. */
  killNode(port: number): Promise<void>;
  /** (Re)starts whatever is not running: a returning node starts as the current primary's replica. */
  start(): Promise<void>;
  /** `SENTINEL FAILOVER`: the primary is demoted while alive, the replica promoted. */
  manualFailover(): Promise<void>;
  /** Stops everything (SIGKILL) and removes the folder. Idempotent. */
  destroy(): Promise<void>;
  /** The last lines of every log, for failure messages. */
  logs(lines?: number): string;
}

function run(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      "bash",
      [SCRIPT, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        err
          ? fail(new Error(`redis-ha.sh ${args.join(" ")}: ${err.message}\n${stdout}${stderr}`))
          : done(stdout),
    );
  });
}

async function ask<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  c.on("error", () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

const portOpen = (port: number) => tcpReachable("127.0.0.1", port);

/** Starts the private primary, replica and sentinels; everything is killed when the test ends. */
export async function startRedisHa(): Promise<RedisHa> {
  const ports = [...HA_NODE_PORTS, ...HA_SENTINEL_PORTS];
  const open = await Promise.all(ports.map(portOpen));
  const taken = ports.filter((_, i) => open[i]);
  if (taken.length > 0)
    throw new Error(
      `startRedisHa: something already listens on 127.0.0.1:${taken.join(", ")} (a leftover of an earlier run? see ps for redis-server / redis-sentinel)`,
    );
  const dir = mkdtempSync(join(tmpdir(), "att-redis-ha-"));
  const env = {
    ATT_LOCAL_DIR: dir,
    ATT_REDIS_HA_NODE_PORTS: HA_NODE_PORTS.join(","),
    ATT_REDIS_HA_SENTINEL_PORTS: HA_SENTINEL_PORTS.join(","),
    ATT_REDIS_HA_MASTER: MASTER,
    ATT_REDIS_HA_DOWN_AFTER_MS: "1000",
    ATT_REDIS_HA_FAILOVER_TIMEOUT_MS: "3000",
  };
  const pidOf = (what: string): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dir, "redis-ha", "run", `${what}.pid`), "utf8").trim());
      return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const everything = [
    ...HA_NODE_PORTS.map((p) => `node-${p}`),
    ...HA_SENTINEL_PORTS.map((p) => `sentinel-${p}`),
  ];
  let destroyed = false;

  const sentinelPrimary = async (): Promise<number | undefined> => {
    for (const p of HA_SENTINEL_PORTS) {
      const r = await ask(p, (c) => c.call("SENTINEL", "get-master-addr-by-name", MASTER)).catch(() => null);
      if (Array.isArray(r) && r.length === 2) return Number(r[1]);
    }
    return undefined;
  };

  const ha: RedisHa = {
    dir,
    url: `redis+sentinel://${HA_SENTINEL_PORTS.map((p) => `127.0.0.1:${p}`).join(",")}/${MASTER}`,
    masterName: MASTER,
    async primaryPort() {
      const p = await sentinelPrimary();
      if (p === undefined) throw new Error(`no sentinel names a primary for ${MASTER}\n${ha.logs()}`);
      return p;
    },
    async waitPrimaryNot(port, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const p = await sentinelPrimary();
        if (p !== undefined && p !== port) {
          const role = await ask(p, (c) => c.call("ROLE")).catch(() => null);
          if (Array.isArray(role) && role[0] === "master") return p;
        }
        if (Date.now() > deadline)
          throw new Error(`Sentinel did not promote a replica within ${timeoutMs} ms\n${ha.logs()}`);
        await sleep(50);
      }
    },
    async waitReplicaSynced(port, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = await ask(port, (c) => c.info("replication")).catch(() => "");
        if (/role:slave/.test(info) && /master_link_status:up/.test(info)) return;
        if (Date.now() > deadline)
          throw new Error(
            `node ${port} is not a synced replica after ${timeoutMs} ms:\n${info}\n${ha.logs()}`,
          );
        await sleep(50);
      }
    },
    async killNode(port) {
      const pid = pidOf(`node-${port}`);
      if (pid === undefined) throw new Error(`node ${port} is not running`);
      process.kill(pid, "SIGKILL");
      while (alive(pid)) await sleep(10);
    },
    async start() {
      if (destroyed) throw new Error("redis-ha was destroyed");
      await run(["start"], env);
    },
    async manualFailover() {
      await ask(HA_SENTINEL_PORTS[0], (c) => c.call("SENTINEL", "FAILOVER", MASTER));
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const what of everything) {
        const pid = pidOf(what);
        if (pid === undefined) continue;
        process.kill(pid, "SIGKILL");
        while (alive(pid)) await sleep(10);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    logs(lines = 15) {
      return everything
        .map((what) => {
          try {
            const text = readFileSync(join(dir, "redis-ha", "logs", `${what}.log`), "utf8")
              .trimEnd()
              .split("\n");
            return `----- ${what}.log\n${text.slice(-lines).join("\n")}`;
          } catch {
            return `----- ${what}.log: none`;
          }
        })
        .join("\n");
    },
  };
  onTestFinished(() => ha.destroy());
  process.once("exit", () => {
    for (const what of everything) {
      const pid = pidOf(what);
      if (pid === undefined) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  try {
    await ha.start();
  } catch (err) {
    const logs = ha.logs();
    await ha.destroy();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
  return ha;
}
