import "./kafkajs-fix.js";
// The default export: Node's ESM loader does not see this CommonJS module's named export in dist/.
import kafkajs from "kafkajs";
import type { Admin } from "./kafka.js";

/**
 * The effective `max.message.bytes` of each topic (the topic's override, else the broker's
 * `message.max.bytes`), read with DescribeConfigs. A record batch larger than this is refused
 * with MESSAGE_TOO_LARGE; knowing the limit lets a writer make every record fit before it
 * produces, instead of discovering the refusal by failing the transaction.
 */
export async function readMaxMessageBytes(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const unique = [...new Set(topics)];
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: unique.map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: ["max.message.bytes"],
    })),
  });
  const out = new Map<string, number>();
  for (const r of res.resources) {
    const entry = r.configEntries.find((e) => e.configName === "max.message.bytes");
    const n = Number(entry?.configValue);
    if (Number.isSafeInteger(n) && n > 0) out.set(r.resourceName, n);
  }
  for (const t of unique)
    if (!out.has(t)) throw new Error(`Topic ${t}: DescribeConfigs returned no max.message.bytes`);
  return out;
}
