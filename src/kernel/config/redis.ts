import { str, url } from "./option.js";

export const redisOptions = {
  url: url(
    "ATT_REDIS_URL",
    "redis://127.0.0.1:6379",
    "Redis for the enrichment queue, shared caches and the ingest lease. Must run with maxmemory-policy noeviction.",
    ["redis:", "rediss:"],
  ),
  keyPrefix: str(
    "ATT_REDIS_PREFIX",
    "att",
    "Prefix of every Redis key and BullMQ queue this deployment owns.",
    { pattern: /^[a-zA-Z0-9_-]+$/ },
  ),
};
