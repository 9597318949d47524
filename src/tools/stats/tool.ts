import type { Config } from "../../kernel/config/index.js";
import type { Kafka } from "../../kernel/kafka/index.js";
import { createLogger, type Logger } from "../../kernel/logger.js";
import { createProgress } from "./progress.js";
import { readTopicRange, type RangeMessage, type ReadRangeResult } from "./read-range.js";

/** What the operator's tools (stats, compare, retrain) take from their caller; defaults: the process's. */
export interface ToolIo {
  env?: Record<string, string | undefined>;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  now?: number;
}

/** A tool's logger on stderr: warnings and above unless ATT_LOG_LEVEL asks for more detail than info. */
export function toolLogger(config: Config, stderr: NodeJS.WritableStream, name: string): Logger {
  return createLogger({
    level: config.common.logLevel === "info" ? "warn" : config.common.logLevel,
    destination: stderr,
    name,
  });
}

/** Reads a time range of `topic` (readTopicRange with the monitor's timeouts), with progress on stderr. */
export async function readRangeWithProgress(
  kafka: Kafka,
  config: Config,
  o: {
    topic: string;
    fromMs: number;
    toMs: number;
    onMessage: (m: RangeMessage) => void;
    stderr: NodeJS.WritableStream & { isTTY?: boolean };
    logger: Logger;
    signal?: AbortSignal;
  },
): Promise<ReadRangeResult> {
  const progress = createProgress(o.stderr, `Reading ${o.topic}`);
  const result = await readTopicRange(kafka, {
    topic: o.topic,
    fromMs: o.fromMs,
    toMs: o.toMs,
    onMessage: o.onMessage,
    onProgress: (p) => progress.update(p),
    idleTimeoutMs: config.monitor.statsIdleTimeoutMs,
    stableWaitMs: config.monitor.statsStableWaitMs,
    logger: o.logger,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  progress.done(result.read);
  return result;
}
