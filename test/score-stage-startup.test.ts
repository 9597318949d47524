import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { createShutdown } from "../src/kernel/shutdown.js";
import { createScoreStage } from "../src/score/stage.js";
import { uniqueName } from "./helpers/names.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";

/** Open TCP sockets of this test process (the stage's Redis, BullMQ and Kafka connections among them). */
const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

/**
 * A stage whose alerts topic cannot be created: one broker cannot hold 3 replicas. The model,
 * the Redis client and the enricher are open by then.
 */
async function unstartableEnv(): Promise<Record<string, string>> {
  const t = await createScoreTopics("startup", { transfers: 1, findings: 1 });
  return scoreEnv({
    ...t,
    extra: { ATT_TOPIC_ALERTS: uniqueName("startup-alerts"), ATT_TOPIC_REPLICATION_FACTOR: "3" },
  });
}

describe("score stage start-up failures", () => {
  it("a topic that cannot be created leaves no Redis client, enricher or model open", async () => {
    const env = await unstartableEnv();
    const before = openSockets();
    const logger = createLogger({ level: "silent" });
    await expect(
      createScoreStage({ config: loadConfig(env), logger, registry: new Registry() }),
    ).rejects.toThrow();
    await expect.poll(openSockets, { timeout: 5000 }).toBeLessThanOrEqual(before);
  });

  it("with the caller's registry, closing that registry closes what the stage had opened", async () => {
    const env = await unstartableEnv();
    const before = openSockets();
    const logger = createLogger({ level: "silent" });
    const shutdown = createShutdown({ logger, graceMs: 10_000 });
    await expect(
      createScoreStage({ config: loadConfig(env), logger, registry: new Registry(), shutdown }),
    ).rejects.toThrow();
    // The registry is the caller's: the stage leaves it open (here the Redis client still is)...
    expect(shutdown.signal.aborted).toBe(false);
    await shutdown.close("start-up failed");
    // ...and closing it closes everything the stage had registered.
    await expect.poll(openSockets, { timeout: 5000 }).toBeLessThanOrEqual(before);
  });
});
