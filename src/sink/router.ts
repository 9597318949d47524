import type { Finding } from "../contracts/finding.js";
import { ALERT_IDS } from "../contracts/finding.js";

/**
 * Where findings go. Every finding goes to the main findings topic unless NORMAL findings are
 * turned off there; `alertsTopic` additionally receives ANOMALOUS and INVALID findings (the
 * ~0.4 % most subscribers want), `normalTopic` receives NORMAL findings instead of the main topic.
 */
export interface RoutingConfig {
  findingsTopic: string;
  /** "main": NORMAL findings go to the main topic (the ATT bot's behaviour); "off": dropped; "topic": to `normalTopic`. */
  normalFindings: "main" | "off" | "topic";
  normalTopic?: string | undefined;
  alertsTopic?: string | undefined;
}

export interface RoutedMessage {
  topic: string;
  key: string;
  value: string | null;
  headers?: Record<string, string>;
}

/**
 * `allowlisted` (issue 16): the finding of an allow-listed sender or contract still goes to the
 * findings topic (its `metadata.allowlisted` says why), never to the alerts topic.
 */
export function routeFinding(
  f: Finding,
  cfg: RoutingConfig,
  value: string,
  allowlisted = false,
): RoutedMessage[] {
  const out: RoutedMessage[] = [];
  const isNormal = f.alertId === ALERT_IDS.normal;
  const headers = { "att-alert-id": f.alertId };
  if (!isNormal || cfg.normalFindings === "main")
    out.push({ topic: cfg.findingsTopic, key: f.uniqueKey, value, headers });
  if (isNormal && cfg.normalFindings === "topic" && cfg.normalTopic)
    out.push({ topic: cfg.normalTopic, key: f.uniqueKey, value, headers });
  if (!isNormal && cfg.alertsTopic && !allowlisted)
    out.push({ topic: cfg.alertsTopic, key: f.uniqueKey, value, headers });
  return out;
}

/** Every topic a finding of any kind could have been written to (retractions go to all of them). */
export function allFindingTopics(cfg: RoutingConfig): string[] {
  const topics = new Set([cfg.findingsTopic]);
  if (cfg.normalFindings === "topic" && cfg.normalTopic) topics.add(cfg.normalTopic);
  if (cfg.alertsTopic) topics.add(cfg.alertsTopic);
  return [...topics];
}
