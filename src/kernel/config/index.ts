import { chainOptions } from "./chain.js";
import { commonOptions } from "./common.js";
import { enrichOptions } from "./enrich.js";
import { ingestOptions } from "./ingest.js";
import { kafkaOptions } from "./kafka.js";
import { labelsOptions } from "./labels.js";
import { modelOptions } from "./model.js";
import { monitorOptions } from "./monitor.js";
import { formatDefault, loadSection, throwIfProblems, type Section, type SectionValues } from "./option.js";
import { redisOptions } from "./redis.js";
import { scoreOptions } from "./score.js";
import { simulateOptions } from "./simulate.js";

export * from "./option.js";

/**
 * Every configuration section by name. Stages add their own section file and register it
 * here; `att config` prints them all with defaults.
 */
export const sections = {
  common: commonOptions,
  kafka: kafkaOptions,
  redis: redisOptions,
  chain: chainOptions,
  enrich: enrichOptions,
  ingest: ingestOptions,
  model: modelOptions,
  score: scoreOptions,
  monitor: monitorOptions,
  simulate: simulateOptions,
  labels: labelsOptions,
} satisfies Record<string, Section>;

export type Sections = typeof sections;
export type Config = { [K in keyof Sections]: SectionValues<Sections[K]> };
export type Overrides = { [K in keyof Sections]?: Partial<Record<keyof Sections[K], unknown>> };

/**
 * Reads the whole configuration once, from `env` (default `process.env`) with CLI flag
 * overrides on top. Throws a ConfigError listing every bad variable, what it got, what it
 * expected and how to fix it.
 *
 * @example
 *   const config = loadConfig(process.env, { chain: { rpcHttpUrl: opts.rpc } });
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Overrides = {},
): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(sections)) {
    out[name] = loadSection(
      section as Section,
      env,
      (overrides as Record<string, Record<string, unknown>>)[name] ?? {},
      problems,
    );
  }
  if (problems.length === 0) problems.push(...crossCheck(out as Config));
  throwIfProblems(problems);
  return out as Config;
}

/** Rules that involve more than one option: each broken one is a problem like a bad value. */
function crossCheck(c: Config): string[] {
  const problems: string[] = [];
  if (c.score.normalFindings === "topic" && !c.score.normalTopic)
    problems.push(
      "ATT_FINDINGS_NORMAL: got topic, but ATT_TOPIC_FINDINGS_NORMAL is not set, so NORMAL findings would go nowhere. Fix: set ATT_TOPIC_FINDINGS_NORMAL=<topic>, or ATT_FINDINGS_NORMAL=main|off.",
    );
  for (const [env, topic] of [
    ["ATT_TOPIC_FINDINGS_NORMAL", c.score.normalTopic],
    ["ATT_TOPIC_ALERTS", c.score.alertsTopic],
  ] as const) {
    if (topic !== undefined && topic === c.kafka.topicFindings)
      problems.push(
        `${env}: got ${topic}, the main findings topic (ATT_TOPIC_FINDINGS): its findings would be written there twice. Fix: name another topic, or unset ${env}.`,
      );
  }
  if (c.kafka.saslMechanism && (!c.kafka.saslUsername || !c.kafka.saslPassword))
    problems.push(
      `ATT_KAFKA_SASL_MECHANISM: got ${c.kafka.saslMechanism}, but ${!c.kafka.saslUsername ? "ATT_KAFKA_SASL_USERNAME" : "ATT_KAFKA_SASL_PASSWORD"} is not set. Fix: set ATT_KAFKA_SASL_USERNAME and ATT_KAFKA_SASL_PASSWORD, or unset ATT_KAFKA_SASL_MECHANISM.`,
    );
  return problems;
}

/** Values of every secret option, so that logs can scrub them wherever they appear. */
export function secretValues(env: Record<string, string | undefined> = process.env): string[] {
  const out: string[] = [];
  for (const section of Object.values(sections) as Section[]) {
    for (const opt of Object.values(section)) {
      const v = env[opt.env];
      if (opt.secret && v && v.length >= 4) out.push(v);
    }
  }
  return out;
}

/** Documentation table of every option: env var, default, description. */
export function describeConfig(format: "text" | "markdown" = "text"): string {
  const rows: string[] = [];
  if (format === "markdown") rows.push("| variable | default | description |", "|---|---|---|");
  for (const [name, section] of Object.entries(sections) as [string, Section][]) {
    if (format === "text") rows.push(`\n[${name}]`);
    for (const opt of Object.values(section)) {
      const def = formatDefault(opt);
      rows.push(
        format === "markdown"
          ? `| \`${opt.env}\` | \`${def}\` | ${opt.doc} Expected: ${opt.expected}. |`
          : `  ${opt.env.padEnd(34)} ${def.padEnd(24)} ${opt.doc}`,
      );
    }
  }
  return rows.join("\n");
}
