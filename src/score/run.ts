import { AttError, UpstreamError } from "../kernel/errors.js";
import { createRuntime } from "../kernel/runtime.js";
import { createScoreStage } from "./stage.js";

/**
 * `att score`: one replica of the scoring consumer group. Runs until SIGINT/SIGTERM, then
 * finishes and commits the batch in flight and leaves the group.
 */
export async function runScore(): Promise<void> {
  const rt = await createRuntime("score");
  let crash: ((err: unknown) => void) | undefined;
  const crashed = new Promise<never>((_, reject) => (crash = reject));
  // Handled by the race below; marked handled now in case the consumer stops while still starting.
  crashed.catch(() => undefined);
  // The stage registers its teardowns in the process's registry: SIGINT/SIGTERM stop it, and a
  // start-up that fails half-way closes what it had opened before the error exits.
  const stage = await createScoreStage({
    config: rt.config,
    logger: rt.logger,
    registry: rt.registry,
    shutdown: rt.shutdown,
    onFatal: (err) => crash?.(err),
  }).catch(async (err: unknown) => {
    await rt.shutdown.close("score stage failed to start");
    throw err;
  });
  rt.health?.addReadinessCheck("consumer-group", () => stage.isReady());
  await stage.start();
  rt.logger.info({
    msg: "Scoring",
    group_id: rt.config.score.groupId,
    topic: rt.config.kafka.topicTransfers,
    findings_topic: rt.config.kafka.topicFindings,
  });
  const stopped = new Promise<void>((resolve) =>
    rt.shutdown.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  try {
    await Promise.race([stopped, crashed]);
  } catch (err) {
    // A consumer that kafkajs will not restart consumes nothing: exit 75 so that the supervisor
    // restarts the process rather than leave a replica that looks alive.
    await rt.shutdown.close("score consumer stopped");
    // An error of ours says why and how it exits (e.g. ATT_DLQ_UNWRITABLE: 1); kafkajs giving up: 75.
    if (err instanceof AttError) throw err;
    throw new UpstreamError("The Kafka consumer stopped and kafkajs will not restart it", {
      code: "ATT_CONSUMER_STOPPED",
      cause: err,
      details: ["Fix: nothing to change here; the process exits 75 so that its supervisor restarts it."],
    });
  }
}
