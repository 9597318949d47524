import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig, type Overrides } from "../../kernel/config/index.js";
import { AttError } from "../../kernel/errors.js";
import { createKafka, ensureTopics } from "../../kernel/kafka/index.js";
import { createLogger } from "../../kernel/logger.js";
import { createRedis } from "../../kernel/redis.js";
import { createShutdown, sleep } from "../../kernel/shutdown.js";
import { randomSeed } from "../simulate/random.js";
import { createSimulator } from "../simulate/simulator.js";
import { loadSimulationSources } from "../simulate/sources.js";
import { acquireChain } from "./chain.js";
import { demoNames, stageEnv } from "./names.js";
import { startObserver } from "./observer.js";
import { startPipeline, type DemoPipeline } from "./pipeline.js";
import { ensureStack } from "./stack.js";
import { createTracker } from "./tracker.js";
import { renderLine, renderScreen, renderSummary } from "./view.js";

export interface DemoFlags {
  duration?: string;
  json?: boolean;
  rpc?: string;
  rate?: string;
  exploitsPerMinute?: string;
  seed?: string;
  keepData?: boolean;
}

/** Targets the demo is built to show (docs/demo.md). */
export const TARGETS = { minRecall: 0.9, maxAnomalyRate: 0.01 };

/**
 * `att demo`: the local stack, a node, the simulator, the pipeline as child processes, and a
 * live view; at the end (Ctrl-C or --duration) a summary of what the pipeline caught.
 * Everything it starts it stops, in order: traffic, ingest, score, enrich, its anvil, and the
 * stack services it had to start itself.
 */
export async function runDemo(flags: DemoFlags): Promise<number> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const overrides: Overrides = {
    simulate: {
      ...(flags.rate ? { rate: flags.rate } : {}),
      ...(flags.exploitsPerMinute ? { exploitsPerMinute: flags.exploitsPerMinute } : {}),
      ...(flags.seed ? { seed: flags.seed } : {}),
    },
  };
  const config = loadConfig(process.env, overrides);
  const durationS = flags.duration === undefined ? undefined : Number(flags.duration);
  if (durationS !== undefined && !(Number.isFinite(durationS) && durationS > 0)) {
    throw new (await import("../../kernel/errors.js")).ConfigError(
      `Invalid --duration: got ${JSON.stringify(flags.duration)}, expected a number of seconds > 0.`,
    );
  }
  const dir = resolve(".local", "demo", runId);
  mkdirSync(dir, { recursive: true });
  const logger = createLogger({
    level: "info",
    name: "att-demo",
    destination: createWriteStream(join(dir, "demo.log")),
  });
  const out = flags.json ? process.stderr : process.stdout;
  const tty = Boolean(out.isTTY) && !flags.json;
  const say = (line: string) => out.write(`${line}\n`);
  const names = demoNames(runId);
  const tracker = createTracker();
  const stopping = new AbortController();
  let hard = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      hard = true;
      say(`\n${sig} again: stopping everything now`);
      return;
    }
    say(`\n${sig}: stopping the demo (again to hurry)…`);
    stopping.abort(new Error(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // Every part registers its teardown as it starts; closed once the run ends, however it ends.
  // The demo's own signal handling (above) stops the traffic first, so no signal handlers here.
  const shutdown = createShutdown({ logger, graceMs: config.common.shutdownGraceMs });
  const processes: { name: string; pid: number; exit?: number | string }[] = [];
  let pipeline: DemoPipeline | undefined;
  let phase = "starting";
  let failure: unknown;
  let traffic:
    | { seed: number; setupMs: number; chainReason: string; chainUrl: string; modelVersion: string }
    | undefined;
  const startedAt = Date.now();
  say(`att demo run ${runId}: logs in ${dir}`);
  try {
    // 1. services and node
    const stack = await ensureStack({
      kafkaBrokers: config.kafka.brokers,
      redisUrl: config.redis.url,
      logger,
    });
    shutdown.register("stack", () => stack.stop());
    if (stack.started.length > 0)
      say(`started local ${stack.started.join(" and ")} (stopped again at the end)`);
    const chain = await acquireChain({
      ...(flags.rpc ? { rpcUrl: flags.rpc } : {}),
      stackHttpUrl: config.chain.rpcHttpUrl,
      maxAgeYears: config.simulate.maxAgeYears,
      logFile: join(dir, "anvil.log"),
      logger,
    });
    if (chain.process) {
      const p = chain.process;
      processes.push({ name: "anvil", pid: p.pid });
      shutdown.register("anvil", async () => {
        processes.find((x) => x.pid === p.pid)!.exit = await p.stop(5000);
      });
    }
    say(`node: ${chain.httpUrl} — ${chain.owned ? "private anvil" : "existing node"} (${chain.reason})`);

    // 2. simulator set-up: tokens, back-dated accounts
    const sources = await loadSimulationSources(config);
    const seed = config.simulate.seed ?? randomSeed();
    const sim = createSimulator({
      rpcUrl: chain.httpUrl,
      marginals: sources.marginals,
      tokens: sources.tokens,
      seed,
      rate: config.simulate.rate,
      exploitsPerMinute: config.simulate.exploitsPerMinute,
      accounts: config.simulate.accounts,
      maxAgeMinutes: config.simulate.maxAgeYears * 525_960,
      maxPending: config.simulate.maxPending,
      exploitsLog: config.simulate.exploitsLog
        ? resolve(config.simulate.exploitsLog)
        : join(dir, "exploits.jsonl"),
      logger,
      onSent: (tx) => tracker.sent(tx),
    });
    shutdown.register("simulator", () => sim.close());
    phase = "deploying tokens and back-dating accounts";
    say(`${phase} (seed ${seed}, calibration: ${sources.marginalsFrom})…`);
    const setup = await sim.setup();
    traffic = {
      seed,
      setupMs: setup.setupMs,
      chainReason: chain.reason,
      chainUrl: chain.httpUrl,
      modelVersion: sources.card?.version ?? "unknown",
    };

    // 3. per-run topics, the observer, the pipeline
    const kafka = createKafka(config.kafka, { logger, stage: "demo" });
    const base = {
      numPartitions: config.kafka.topicPartitions,
      replicationFactor: config.kafka.topicReplicationFactor,
    };
    await ensureTopics(kafka, [
      { topic: names.transfersTopic, ...base },
      { topic: names.findingsTopic, ...base },
      { topic: names.dlqTopic, ...base },
    ]);
    if (!flags.keepData) {
      shutdown.register("kafka-data", () => deleteKafkaData(kafka, names));
      shutdown.register("redis-data", () => deleteRedisData(config.redis.url, names.redisPrefix));
    }
    const observer = await startObserver({
      kafka,
      groupId: names.observerGroup,
      transfersTopic: names.transfersTopic,
      findingsTopic: names.findingsTopic,
      tracker,
      logger,
    });
    shutdown.register("observer", () => observer.stop());
    phase = "starting ingest, enrich and score";
    say(`${phase}…`);
    pipeline = await startPipeline({
      env: stageEnv({
        names,
        httpUrl: chain.httpUrl,
        wsUrl: chain.wsUrl,
        chainId: chain.chainId,
        fromBlock: setup.lastSetupBlock + 1,
        ...(sources.modelDir ? { modelDir: sources.modelDir } : {}),
      }),
      logDir: dir,
      logger,
    });
    const pl = pipeline;
    for (const s of pl.stages) processes.push({ name: s.name, pid: s.pid });
    shutdown.register("pipeline", async () => {
      const codes = await pl.stop(15_000);
      for (const p of processes) if (codes[p.name] !== undefined) p.exit = codes[p.name];
    });
    await pl.ready(120_000, stopping.signal);

    // 4. traffic with a live view
    const header = {
      runId,
      chain: `${chain.owned ? "private anvil" : "node"} ${chain.httpUrl}`,
      model: `${traffic.modelVersion}`,
    };
    phase = `sending ${config.simulate.rate} tx/s + ${config.simulate.exploitsPerMinute} exploits/min${durationS ? ` for ${durationS} s` : ""}`;
    tracker.markStart();
    const ticker = setInterval(
      () => {
        const s = tracker.live();
        out.write(tty ? renderScreen(header, s, phase) : renderLine(s, phase));
        const dead = pl.failed();
        if (dead && !stopping.signal.aborted) stopping.abort(new Error(`stage ${dead.name} exited`));
      },
      tty ? 1000 : 5000,
    );
    try {
      await sim.run({ signal: stopping.signal, ...(durationS ? { durationMs: durationS * 1000 } : {}) });
      // 5. let the pipeline finish what was sent
      phase = "traffic stopped; waiting for the last findings";
      const drainUntil = Date.now() + 30_000;
      while (tracker.outstanding() > 0 && Date.now() < drainUntil && !hard && !pl.failed()) await sleep(250);
    } finally {
      clearInterval(ticker);
    }
    const dead = pl.failed();
    if (dead) {
      failure = new Error(
        `pipeline stage ${dead.name} exited with ${String(await dead.exited)} (log: ${dead.logFile})`,
      );
    }
  } catch (err) {
    failure = err;
  } finally {
    phase = "stopping";
    await shutdown.close(failure === undefined ? "demo finished" : "demo failed");
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const summary = tracker.summary();
  const ok =
    failure === undefined &&
    summary.exploits.recall !== null &&
    summary.exploits.recall >= TARGETS.minRecall &&
    summary.normal.anomalyRate !== null &&
    summary.normal.anomalyRate <= TARGETS.maxAnomalyRate &&
    summary.findings.missing === 0;
  const report = {
    runId,
    ok,
    targets: TARGETS,
    durationS: (Date.now() - startedAt) / 1000,
    ...(traffic ?? {}),
    ...summary,
    processes,
    logs: dir,
    ...(failure ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(renderSummary(summary, ok));
  if (failure) {
    process.stderr.write(
      `att demo: ${failure instanceof AttError ? failure.message : failure instanceof Error ? failure.message : String(failure)}\n`,
    );
    return failure instanceof AttError && failure.retryable ? 75 : 1;
  }
  return 0;
}

async function deleteKafkaData(
  kafka: ReturnType<typeof createKafka>,
  names: ReturnType<typeof demoNames>,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = [names.transfersTopic, names.findingsTopic, names.dlqTopic, names.checkpointTopic].filter(
      (t) => existing.has(t),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    await admin.deleteGroups([names.scoreGroup, names.observerGroup]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

async function deleteRedisData(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url, { name: "att-demo-cleanup" });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
