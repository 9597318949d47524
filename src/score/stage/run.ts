import { createRuntime } from "../../kernel/runtime.js";
import { createScoreStage } from "./stage.js";

/**
 * `att score`: one replica of the scoring consumer group. Runs until SIGINT/SIGTERM, then
 * finishes and commits the batch in flight and leaves the group.
 */
export async function runScore(): Promise<void> {
  const rt = await createRuntime("score");
  const stage = await createScoreStage({ config: rt.config, logger: rt.logger, registry: rt.registry });
  rt.shutdown.register("score-stage", () => stage.stop());
  rt.health?.addReadinessCheck("consumer-group", () => stage.isReady());
  await stage.start();
  rt.logger.info({
    msg: "Scoring",
    group_id: rt.config.score.groupId,
    topic: rt.config.kafka.topicTransfers,
    findings_topic: rt.config.kafka.topicFindings,
  });
  await new Promise<void>((resolve) =>
    rt.shutdown.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}
