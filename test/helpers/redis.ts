import { Redis } from "ioredis";
import { onTestFinished } from "vitest";
import { uniqueName } from "./names.js";
import { REDIS_URL } from "./services.js";

/** A Redis client closed when the current test ends. */
export function testRedis(opts: { blocking?: boolean } = {}): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: opts.blocking ? null : 3 });
  onTestFinished(async () => {
    await client.quit().catch(() => client.disconnect());
  });
  return client;
}

/** A unique key prefix / queue name for this test; its keys are deleted when the test ends. */
export function testPrefix(prefix = "atttest"): string {
  const name = uniqueName(prefix);
  onTestFinished(async () => {
    const client = new Redis(REDIS_URL);
    try {
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `*${name}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await client.del(...keys);
      } while (cursor !== "0");
    } finally {
      client.disconnect();
    }
  });
  return name;
}
