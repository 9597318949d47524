import { str, url, type Option } from "./option.js";

/**
 * Where Redis is: one server (`redis://`, `rediss://`), or a primary found through Redis Sentinel:
 *
 *   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master name>[/<db>]
 *
 * Sentinel's default port is 26379. The credentials are those of the Redis servers (primary and
 * replicas), not of the sentinels. Redis Cluster is not supported (docs/operations.md says why).
 */
export type RedisTarget =
  | { kind: "server"; url: string }
  | {
      kind: "sentinel";
      sentinels: { host: string; port: number }[];
      /** The master name the sentinels monitor (`sentinel monitor <name> …`). */
      name: string;
      db: number;
      username?: string;
      password?: string;
    };

const HOST = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])`;
const PORT = String.raw`(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})`;
const SENTINEL_URL = new RegExp(
  String.raw`^redis\+sentinel://(?:([^@\s/]*)@)?(${HOST}(?::${PORT})?(?:,${HOST}(?::${PORT})?)*)/([A-Za-z0-9._-]+)(?:/(\d|1[0-5]))?/?$`,
);
const SENTINEL_PORT = 26379;

/** Parses a value that passed the option's validation (`redisOptions.url`). */
export function redisTarget(raw: string): RedisTarget {
  const text = raw.trim();
  const m = SENTINEL_URL.exec(text);
  if (!m) return { kind: "server", url: text };
  const [, auth, hosts = "", name = "", db] = m;
  const sentinels = hosts.split(",").map((h) => {
    const at = h.lastIndexOf(":");
    const bracketed = h.startsWith("[");
    const hasPort = at > 0 && (!bracketed || h[at - 1] === "]");
    const host = hasPort ? h.slice(0, at) : h;
    return { host: host.replace(/^\[|\]$/g, ""), port: hasPort ? Number(h.slice(at + 1)) : SENTINEL_PORT };
  });
  const target: RedisTarget = { kind: "sentinel", sentinels, name, db: db === undefined ? 0 : Number(db) };
  if (auth !== undefined) {
    const colon = auth.indexOf(":");
    const user = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
    const password = colon < 0 ? "" : decodeURIComponent(auth.slice(colon + 1));
    if (user) target.username = user;
    if (password) target.password = password;
  }
  return target;
}

/** `redis+sentinel://…` or a plain Redis URL, each validated by its own rule. */
function redisUrl(env: string, def: string, doc: string): Option<string> {
  const server = url(env, def, doc, ["redis:", "rediss:"]);
  const sentinel = str(env, def, doc, { pattern: SENTINEL_URL });
  return {
    ...server,
    expected: `a URL with scheme redis or rediss, or redis+sentinel://[:password@]host[:port][,host[:port]…]/<master name>[/<db 0-15>]`,
    parse: (raw) => (/^redis\+sentinel:/i.test(raw.trim()) ? sentinel.parse(raw.trim()) : server.parse(raw)),
  };
}

export const redisOptions = {
  url: redisUrl(
    "ATT_REDIS_URL",
    "redis://127.0.0.1:6379",
    "Redis for the enrichment queue, shared caches and the ingest lease. Must run with maxmemory-policy noeviction. redis+sentinel://host:26379,host:26380,host:26381/<master name> finds the primary through Redis Sentinel and follows it through a failover.",
  ),
  keyPrefix: str(
    "ATT_REDIS_PREFIX",
    "att",
    "Prefix of every Redis key and BullMQ queue this deployment owns.",
    { pattern: /^[a-zA-Z0-9_-]+$/ },
  ),
};
