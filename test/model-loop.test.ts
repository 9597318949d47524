import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import "../src/kernel/kafka/compression.js";
import { ALERT_IDS, parseFinding, type Finding } from "../src/contracts/finding.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createKafka, ensureTopics } from "../src/kernel/kafka/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { tcpReachable } from "../src/kernel/net.js";
import { sleep } from "../src/kernel/shutdown.js";
import { readDefaultVersion } from "../src/model/registry.js";
import { runCompare } from "../src/tools/compare/run.js";
import { anvilBinary } from "../src/tools/demo/chain.js";
import { demoNames, stageEnv } from "../src/tools/demo/names.js";
import { startProcess, type ManagedProcess } from "../src/tools/demo/processes.js";
import { parseMixShift } from "../src/tools/simulate/mix-shift.js";
import { createSimulator } from "../src/tools/simulate/simulator.js";
import { loadSimulationSources } from "../src/tools/simulate/sources.js";
import { findChromium, launchChromium } from "./helpers/chromium.js";
import { kafkajsClient } from "./helpers/kafka-clients.js";
import { KAFKA_BROKERS } from "./helpers/services.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
/** This test's private anvil (helper port range 19950-19999). */
const ANVIL_PORT = 19951;
/**
 * Scored transactions per drift window: small, so that the loop closes in a few minutes, but the
 * retrained model learns from one window, and with a few hundred rows its training anomaly rate
 * at 0.5 is sometimes 0 — the drift monitor's binomial test then alarms on the first anomaly
 * (see docs/model-loop.md). 600 rows make that rare.
 */
const WINDOW = 600;
const RATE = 25;
const EXPLOITS_PER_MINUTE = 4;
/** Normal traffic first, then the shift: SHIB and SAND become popular and stay so. */
const SHIFT_AFTER_MS = 20_000;
const SHIFT_MIX = "SHIB:0.8,SAND:0.5";
const YEAR_S = 365.25 * 86_400;

async function until<T>(
  what: string,
  fn: () => T | undefined,
  timeoutMs: number,
  failed?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    const f = failed?.();
    if (f) throw new Error(`${what}: ${f}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** `att <args>` as a child process; resolves with its stdout, rejects with its stderr on failure. */
function att(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: REPO,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`att ${args.join(" ")} exited ${code}:\n${err}`)),
    );
  });
}

/** `att <stage>` as a child process with its metrics/readiness on `port`; resolves once /readyz answers 200. */
async function startStage(
  name: string,
  port: number,
  env: NodeJS.ProcessEnv,
  logFile: string,
): Promise<ManagedProcess> {
  const proc = startProcess({
    name,
    command: process.execPath,
    args: ["--import", "tsx", join(REPO, "src", "cli.ts"), name],
    env: { ...env, ATT_METRICS_PORT: String(port), ATT_METRICS_HOST: "127.0.0.1" },
    logFile,
  });
  onTestFinished(async () => void (await proc.stop(15_000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (!proc.running()) throw new Error(`att ${name} exited before it was ready (log ${logFile})`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return proc;
    if (Date.now() > deadline) throw new Error(`att ${name} not ready within 120 s (log ${logFile})`);
    await sleep(250);
  }
}

describe("the model loop", () => {
  it("normal traffic, then a lasting shift in the mix: MODEL-DRIFT names its retrain command; retrain over the shifted window, compare (rate back within 2× of training, every exploit flagged), promote, and the score stage on the new default stops drifting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "att-model-loop-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // A copy of the registry: the test promotes in it, never in models/registry.
    const registry = join(dir, "registry");
    cpSync(join(REPO, "models", "registry"), registry, { recursive: true });
    const base = readDefaultVersion(registry)!;
    const logger = createLogger({ level: "warn", name: "model-loop-test" });
    const env0: NodeJS.ProcessEnv = {
      ...process.env,
      ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      ATT_MODEL_REGISTRY: registry,
    };
    delete env0.ATT_MODEL_DIR;
    delete env0.ATT_MODEL_VERSION;
    const config = loadConfig(env0);

    // 1. A private anvil whose chain starts in the past (accounts are back-dated); the port must
    // be free: a node left over from an earlier run would answer instead (and know the seed).
    expect(await tcpReachable("127.0.0.1", ANVIL_PORT), `port ${ANVIL_PORT} is taken`).toBe(false);
    const genesis = Math.floor(Date.now() / 1000 - (config.simulate.maxAgeYears + 0.25) * YEAR_S);
    const anvil = startProcess({
      name: "anvil",
      command: anvilBinary(),
      args: [
        "--host",
        "127.0.0.1",
        "--port",
        String(ANVIL_PORT),
        "--chain-id",
        "31337",
        "--timestamp",
        String(genesis),
        "--block-time",
        "1",
        "--silent",
      ],
      logFile: join(dir, "anvil.log"),
    });
    onTestFinished(async () => void (await anvil.stop(5000)));
    const rpc = `http://127.0.0.1:${ANVIL_PORT}`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(rpc, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
      })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      await sleep(100);
    }

    // 2. The simulator, with the shift after SHIFT_AFTER_MS of traffic.
    const sources = await loadSimulationSources(config);
    const exploitsLog = join(dir, "exploits.jsonl");
    const sim = createSimulator({
      rpcUrl: rpc,
      marginals: sources.marginals,
      tokens: sources.tokens,
      seed: 16,
      rate: RATE,
      exploitsPerMinute: EXPLOITS_PER_MINUTE,
      accounts: config.simulate.accounts,
      maxAgeMinutes: config.simulate.maxAgeYears * 525_960,
      maxPending: config.simulate.maxPending,
      exploitsLog,
      shift: { afterMs: SHIFT_AFTER_MS, mix: parseMixShift(SHIFT_MIX, sources.tokens) },
      logger,
    });
    onTestFinished(() => sim.close());
    const setup = await sim.setup();

    // 3. Per-run topics and the pipeline (ingest, enrich, score) on the registry copy.
    const runId = `loop${Date.now().toString(36)}`;
    const names = demoNames(runId);
    const verdictsTopic = `att.test.${runId}.verdicts.v1`;
    const kafka = createKafka(config.kafka, { logger, stage: "test" });
    const topics = [names.transfersTopic, names.findingsTopic, names.dlqTopic, verdictsTopic];
    await ensureTopics(
      kafka,
      topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    );
    onTestFinished(async () => {
      const admin = kafka.admin();
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const ours = [...topics, names.checkpointTopic].filter((t) => existing.has(t));
      await admin.deleteTopics({ topics: ours }).catch(() => undefined);
      await admin.disconnect();
    });
    const env: NodeJS.ProcessEnv = {
      ...stageEnv({
        names,
        httpUrl: rpc,
        wsUrl: rpc.replace(/^http/, "ws"),
        chainId: 31337,
        fromBlock: setup.lastSetupBlock + 1,
        base: env0,
      }),
      ATT_DRIFT_WINDOW_SIZE: String(WINDOW),
      ATT_LOG_LEVEL: "info",
    };
    // Ports of this helper's range (19950-19999).
    const stages = {
      enrich: await startStage("enrich", 19961, env, join(dir, "enrich.log")),
      score: await startStage("score", 19962, env, join(dir, "score.log")),
      ingest: await startStage("ingest", 19963, env, join(dir, "ingest.log")),
    };

    // What the pipeline writes, read back as it comes.
    const findings: Finding[] = [];
    const stamped: { finding: Finding; ts: number }[] = [];
    const consumer = kafka.consumer({
      groupId: `att-test-${runId}-reader`,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    onTestFinished(() => consumer.disconnect());
    await consumer.subscribe({ topics: [names.findingsTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const finding = parseFinding(message.value);
        findings.push(finding);
        stamped.push({ finding, ts: Number(message.timestamp) });
      },
    });
    const drift = (version: string) =>
      findings.filter((f) => f.alertId === ALERT_IDS.drift && f.metadata.model_version === version);
    const scored = (version: string) =>
      findings.filter((f) => f.alertId !== ALERT_IDS.drift && f.metadata.model_version === version).length;

    const stopTraffic = new AbortController();
    const traffic = sim.run({ signal: stopTraffic.signal });
    onTestFinished(() => stopTraffic.abort());
    const failed = () => {
      const dead = Object.values(stages).find((p) => !p.running());
      return dead ? `stage ${dead.name} exited (log ${dead.logFile})` : undefined;
    };

    // 4. The base model drifts on the shifted traffic: a window wholly after the shift alarms.
    const shifted = await until(
      "a MODEL-DRIFT finding for a window after the shift",
      () => {
        const at = sim.shiftedAt();
        return at === undefined
          ? undefined
          : drift(base).find((f) => Date.parse(f.metadata.window_start!) >= at);
      },
      240_000,
      failed,
    );
    const command = shifted.metadata.retrain_command!;
    expect(shifted.description).toContain(command);
    expect(
      JSON.parse(shifted.metadata.top_drifting_features!).map((x: { feature: string }) => x.feature),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/^(SHIB|SAND)_/)]));

    // An analyst marks the exploits injected so far as true positives (Verdict v1).
    const judged = new Set(sim.exploits().map((e) => e.hash.toLowerCase()));
    const producer = kafkajsClient().producer();
    await producer.connect();
    await producer.send({
      topic: verdictsTopic,
      messages: [...judged].map((hash) => ({
        key: `31337:${hash}`,
        value: JSON.stringify({
          v: 1,
          chainId: 31337,
          txHash: hash,
          verdict: "true-positive",
          analyst: "model-loop test",
          at: new Date().toISOString(),
        }),
      })),
    });
    await producer.disconnect();

    // 5. Retrain with the finding's exact command (--json only for a machine-readable result).
    const args = command.split(" ");
    expect(args.slice(0, 3)).toEqual(["att", "model", "retrain"]);
    const cliEnv = {
      ...env0,
      ATT_TOPIC_FINDINGS: names.findingsTopic,
      ATT_VERDICTS_TOPIC: verdictsTopic,
      ATT_LOG_LEVEL: "warn",
    };
    const retrained = JSON.parse(await att([...args.slice(1), "--json"], cliEnv)) as {
      version: string;
      rows: number;
      excluded: number;
      trainingAnomalyRate: number;
    };
    // Exactly the window's scored findings of the base model, less those judged true positives.
    const fromMs = Date.parse(args[args.indexOf("--from") + 1]!);
    const toMs = Date.parse(args[args.indexOf("--to") + 1]!);
    const inWindow = stamped.filter(
      (x) =>
        x.ts >= fromMs &&
        x.ts < toMs &&
        x.finding.metadata.model_version === base &&
        (x.finding.alertId === ALERT_IDS.anomalous || x.finding.alertId === ALERT_IDS.normal),
    );
    const excludedHere = inWindow.filter((x) =>
      judged.has(x.finding.source.transactions![0]!.hash.toLowerCase()),
    ).length;
    expect(retrained.excluded).toBe(excludedHere);
    expect(retrained.rows).toBe(inWindow.length - excludedHere);
    expect(retrained.rows).toBeGreaterThanOrEqual(WINDOW);
    // With no training anomaly at all, any anomaly (an exploit) would be "drift" (docs/model-loop.md).
    expect(retrained.trainingAnomalyRate).toBeGreaterThan(0);
    const changelog = readFileSync(join(registry, "CHANGELOG.md"), "utf8");
    expect(changelog).toContain(`## ${retrained.version} — retrained from production`);
    expect(changelog).toContain(`**Compared with ${base}:**`);
    expect(readDefaultVersion(registry)).toBe(base);

    // 6. Promote; the score stage restarts on the new default.
    expect(
      await att(["model", "promote", retrained.version, "--reason", "drift after the mix shift"], cliEnv),
    ).toBe(`DEFAULT ${base} → ${retrained.version}\n`);
    expect(await stages.score.stop(15_000)).toBe(0);
    stages.score = await startStage("score", 19964, env, join(dir, "score2.log"));
    // Two whole windows of the new model on the shifted traffic.
    await until(
      "two drift windows scored by the new model",
      () => (scored(retrained.version) >= 2 * WINDOW + 20 ? true : undefined),
      240_000,
      failed,
    );
    const endMs = Date.now();
    stopTraffic.abort();
    await traffic;
    await sleep(3000);
    expect(drift(retrained.version)).toEqual([]);

    // 7. Compare the two models on everything scored since the shifted window began, with the
    // injected exploits as labels.
    const from = shifted.metadata.window_start!;
    const html = join(dir, "compare.html");
    const report = await runCompare(
      [base, retrained.version],
      {
        from,
        to: new Date(endMs).toISOString(),
        topic: names.findingsTopic,
        labels: exploitsLog,
        html,
        json: true,
      },
      { env: cliEnv, stdout: process.stderr, stderr: process.stderr },
    );
    const [old, fresh] = report.models;
    expect(report.rows).toBeGreaterThan(3 * WINDOW);
    expect(report.positives).toBeGreaterThan(0);
    expect(old!.normalRateRatio!).toBeGreaterThan(2);
    // Like for like: training left the judged attacks out, so the rate of the rest of the traffic.
    expect(fresh!.normalRateRatio!).toBeLessThanOrEqual(2);
    expect(fresh!.recall).toBe(1);
    console.log(
      `model loop: base ${base} ${(old!.rate * 100).toFixed(3)} % vs training ${(old!.trainingRate! * 100).toFixed(3)} % (${old!.rateRatio!.toFixed(2)}×; without the attacks ${(old!.normalRate! * 100).toFixed(3)} %, ${old!.normalRateRatio!.toFixed(2)}×; recall ${old!.recall}); ` +
        `new ${fresh!.version} on ${retrained.rows} rows (${retrained.excluded} true positives left out) ${(fresh!.rate * 100).toFixed(3)} % vs training ${(fresh!.trainingRate! * 100).toFixed(3)} % (${fresh!.rateRatio!.toFixed(2)}×; without the attacks ${(fresh!.normalRate! * 100).toFixed(3)} %, ${fresh!.normalRateRatio!.toFixed(2)}×; recall ${fresh!.recall}); ` +
        `${report.rows} tx, ${report.positives} exploits, Jaccard ${report.pairs[0]!.jaccard?.toFixed(3)}, Spearman ${report.pairs[0]!.spearman?.toFixed(3)}; drift findings: base ${drift(base).length}, new ${drift(retrained.version).length} over ${scored(retrained.version)} scored`,
    );

    const chromium = findChromium();
    if (chromium) {
      const browser = await launchChromium(chromium);
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
      const reports = join(process.env.ATT_LOCAL_DIR ?? ".local", "reports");
      mkdirSync(reports, { recursive: true });
      await page.screenshot({ path: join(reports, "model-loop-compare.png"), fullPage: true });
    }
  }, 600_000);
});
