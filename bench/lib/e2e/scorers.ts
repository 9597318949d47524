import { mkdirSync } from "node:fs";
import { KAFKA_BROKERS, REDIS_URL } from "../../../test/helpers/services.js";
import { spawnChild, type Child } from "../../../test/helpers/child-process.js";
import { BENCH_LOG_DIR, REPO, track } from "../processes.js";

export const JOINED = /Joined consumer group/;

export interface ScorerTarget {
  transfers: string;
  findings: string;
  dlq: string;
  group: string;
  redisPrefix: string;
}

/**
 * The environment of a benchmarked `att score` process. Tuning variables
 * (ATT_SCORE_BATCH_MAX, ATT_SCORE_PARTITIONS_CONCURRENTLY, ATT_FINDINGS_NORMAL, ATT_MODEL_*…)
 * come from the benchmark's own environment; only the wiring is set here.
 */
export function scorerEnv(t: ScorerTarget): Record<string, string> {
  return {
    ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    ATT_REDIS_URL: REDIS_URL,
    ATT_REDIS_PREFIX: t.redisPrefix,
    ATT_TOPIC_TRANSFERS: t.transfers,
    ATT_TOPIC_FINDINGS: t.findings,
    ATT_TOPIC_DLQ: t.dlq,
    ATT_SCORE_GROUP_ID: t.group,
    ATT_SCORE_TRANSACTIONAL_ID_PREFIX: t.group,
    ATT_SCORE_FROM_BEGINNING: "true",
    ATT_METRICS_PORT: "0",
    ATT_LOG_LEVEL: process.env.ATT_LOG_LEVEL ?? "info",
    ATT_LOG_PRETTY: "false",
  };
}

export interface ScorerOptions {
  /** Run `node dist/cli.js score` (after `npm run build`) instead of `node --import tsx src/cli.ts score`. */
  dist: boolean;
  /** Write a V8 CPU profile into this directory when the process exits. */
  cpuProfDir?: string;
  /** Log every garbage collection with its bytes allocated (V8's --trace-gc-nvp) into the process's log. */
  traceGc?: boolean;
  /** Serve the scorer's /metrics on 127.0.0.1:<port> (0 = no server). */
  metricsPort?: number;
  /** Extra variables (a tuning variant: ATT_SCORE_BATCH_MAX=…). */
  env?: Record<string, string>;
  /** Run `att score` of another checkout (its path with a trailing /, e.g. a `git worktree` of an older commit). */
  repo?: string;
  /**
   * Instead of att score, the bare kafkajs transactional pipe (bare-pipe.ts) writing records
   * of `recordBytes`, with att score's batch and fetch settings.
   */
  bare?: {
    recordBytes: number;
    batchMax: number;
    partitionsConcurrently: number;
    maxBytesPerPartition: number;
    maxBytes: number;
    /** ATT_FINDINGS_COMPRESSION of the att score it stands beside. */
    compression: string;
  };
}

const BARE_PIPE = new URL("./bare-pipe.ts", import.meta.url).pathname;

function barePipeEnv(t: ScorerTarget, b: NonNullable<ScorerOptions["bare"]>): Record<string, string> {
  return {
    BARE_BROKERS: KAFKA_BROKERS.join(","),
    BARE_IN: t.transfers,
    BARE_OUT: t.findings,
    BARE_GROUP: t.group,
    BARE_RECORD_BYTES: String(b.recordBytes),
    BARE_BATCH_MAX: String(b.batchMax),
    BARE_PARTITIONS_CONCURRENTLY: String(b.partitionsConcurrently),
    BARE_MAX_BYTES_PER_PARTITION: String(b.maxBytesPerPartition),
    BARE_MAX_BYTES: String(b.maxBytes),
    BARE_COMPRESSION: b.compression,
  };
}

export function spawnScorer(name: string, target: ScorerTarget, o: ScorerOptions): Child {
  const nodeArgs: string[] = [];
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`);
  }
  if (o.traceGc) nodeArgs.push("--trace-gc-nvp");
  if (o.bare)
    return track(
      spawnChild(name, process.execPath, [...nodeArgs, "--import", "tsx", BARE_PIPE], {
        logDir: BENCH_LOG_DIR,
        env: { ...o.env, ...barePipeEnv(target, o.bare) },
        keepOutput: false,
      }),
    );
  const repo = o.repo ?? REPO;
  const cli = o.dist ? [`${repo}dist/cli.js`] : ["--import", "tsx", `${repo}src/cli.ts`];
  return track(
    spawnChild(name, process.execPath, [...nodeArgs, ...cli, "score"], {
      logDir: BENCH_LOG_DIR,
      env: {
        ...o.env,
        ...scorerEnv(target),
        ATT_METRICS_PORT: String(o.metricsPort ?? 0),
        ATT_METRICS_HOST: "127.0.0.1",
      },
      keepOutput: false,
    }),
  );
}
