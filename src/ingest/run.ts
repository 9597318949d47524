import type { Overrides } from "../kernel/config/index.js";
import { createKafka } from "../kernel/kafka/index.js";
import { createRedis } from "../kernel/redis.js";
import { createRuntime } from "../kernel/runtime.js";
import { createIngester } from "./ingester.js";
import { ingestOptionsFromConfig } from "./options.js";
import { ensureIngestTopics } from "./topics.js";

export interface IngestFlags {
  fromBlock?: string;
  confirmations?: string;
  chainId?: string;
  rpcHttp?: string;
  rpcWs?: string;
}

/** `att ingest`: the long-running command. Resolves when shut down by a signal. */
export async function runIngest(flags: IngestFlags): Promise<void> {
  const overrides: Overrides = {
    ingest: { fromBlock: flags.fromBlock, confirmations: flags.confirmations },
    chain: { chainId: flags.chainId, rpcHttpUrl: flags.rpcHttp, rpcWsUrl: flags.rpcWs },
  };
  const rt = await createRuntime("ingest", { overrides });
  const options = ingestOptionsFromConfig(rt.config);
  const kafka = createKafka(rt.config.kafka, { logger: rt.logger, stage: "ingest" });
  await ensureIngestTopics(kafka, options, rt.config.kafka);
  const redis = createRedis(rt.config.redis.url, { logger: rt.logger, name: "att-ingest" });
  rt.shutdown.register("redis", async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const ingester = createIngester({ options, kafka, redis, logger: rt.logger, registry: rt.registry });
  rt.health?.addReadinessCheck("ingest", () => ingester.ready());
  const done = ingester.run(rt.shutdown.signal);
  // Registered last, so it runs first: the loop finishes its Kafka transaction and releases
  // the lease before Redis and the health server go away.
  rt.shutdown.register("ingester", () => done.then(() => undefined));
  try {
    await done;
  } catch (err) {
    await rt.shutdown.close("fatal ingest error");
    throw err;
  }
}
