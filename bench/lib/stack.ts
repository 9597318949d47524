import { spawnSync } from "node:child_process";
import { tcpReachable } from "../../src/kernel/net.js";
import { REPO } from "./processes.js";

const hostPort = (s: string, defPort: number): [string, number] => {
  const m = /^(?:[a-z]+:\/\/)?([^:/]+)(?::(\d+))?/.exec(s);
  return [m?.[1] ?? "127.0.0.1", Number(m?.[2] ?? defPort)];
};

/** Kafka and Redis as the benchmarks will use them (ATT_KAFKA_BROKERS, ATT_REDIS_URL). */
export async function stackReachable(): Promise<{ kafka: boolean; redis: boolean }> {
  const [kh, kp] = hostPort((process.env.ATT_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",")[0]!, 9092);
  const [rh, rp] = hostPort(process.env.ATT_REDIS_URL ?? "redis://127.0.0.1:6379", 6379);
  const [kafka, redis] = await Promise.all([tcpReachable(kh, kp, 1500), tcpReachable(rh, rp, 1500)]);
  return { kafka, redis };
}

/**
 * Makes sure the local stack answers; starts it with `deploy/local/stack.sh start` when it does
 * not (the script is idempotent). Throws with the script's exit status when that fails.
 */
export async function ensureStack(log: (msg: string) => void): Promise<void> {
  const r = await stackReachable();
  if (r.kafka && r.redis) return;
  log(
    `local stack not answering (kafka ${r.kafka ? "up" : "down"}, redis ${r.redis ? "up" : "down"}): deploy/local/stack.sh start`,
  );
  const res = spawnSync("bash", [`${REPO}deploy/local/stack.sh`, "start"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (res.status !== 0) throw new Error(`deploy/local/stack.sh start failed (exit ${res.status})`);
  const again = await stackReachable();
  if (!again.kafka || !again.redis)
    throw new Error("the local stack still does not answer after stack.sh start");
}
