import { describe, expect, it } from "vitest";
import { connectedProducer, readTopic } from "./helpers/kafka.js";
import { spawnAtt } from "./helpers/processes.js";
import { findBinary, localConfigFor, startPrometheus, type ApiAlert } from "./helpers/prometheus.js";
import { testRedis } from "./helpers/redis.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";

/**
 * The real Prometheus (Debian's package) scrapes a real `att score` on the local stack with
 * deploy/prometheus/prometheus.local.yml (its att-score job pointed at the test's process, 1 s
 * scrape and evaluation intervals) and evaluates the shipped deploy/prometheus/alerts.yml,
 * unchanged: `for:` durations included. A real fault is injected and the matching alert is
 * awaited in Prometheus's own /api/v1/alerts.
 *
 * Ports (this file's range, 19400-19499): Prometheus 19400 and 19402, the scorers' /metrics
 * 19401 and 19403.
 */
const PROMETHEUS_PORT = 19400;
const SCORE_METRICS_PORT = 19401;
const SCORER = `127.0.0.1:${SCORE_METRICS_PORT}`;

/** Polls Prometheus's alerts until one named `name` is in `state`; resolves with it. */
async function waitForAlert(
  alerts: () => Promise<ApiAlert[]>,
  name: string,
  state: ApiAlert["state"],
  timeoutMs: number,
): Promise<ApiAlert> {
  const deadline = Date.now() + timeoutMs;
  let seen: ApiAlert[] = [];
  while (Date.now() < deadline) {
    seen = await alerts();
    const a = seen.find((x) => x.labels.alertname === name && x.state === state);
    if (a) return a;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${name} not ${state} after ${timeoutMs / 1000} s; alerts: ${JSON.stringify(seen.map((a) => [a.labels.alertname, a.state]))}`,
  );
}

describe("Prometheus evaluating the shipped alerts against a live score stage", () => {
  const prometheusBinary = findBinary("prometheus");

  it("has prometheus installed (deploy/local/stack.sh install)", () => {
    expect(prometheusBinary.missing).toBeUndefined();
  });

  it("fires AttScoreDlqGrowing once a malformed message reaches the DLQ, and puts AttTargetDown in pending when the scorer is killed", async () => {
    const t = await createScoreTopics("prom-live", { transfers: 1, findings: 1 });
    const txs = syntheticTxs(20, { seed: 1919 });
    await seedEnrichmentCache(testRedis(), t.prefix, txs);
    const scorer = spawnAtt(t.group, ["score"], {
      ...scoreEnv({ ...t, extra: { ATT_LOG_LEVEL: "info" } }),
      ATT_METRICS_PORT: String(SCORE_METRICS_PORT),
      ATT_METRICS_HOST: "127.0.0.1",
    });
    await scorer.waitFor(/"msg":"Scoring"/, 60_000);

    const prom = await startPrometheus(localConfigFor({ "att-score": [SCORER] }, "1s"), PROMETHEUS_PORT);
    // The shipped rules are loaded as they are: 18 alerting rules, the DLQ alert without `for:`.
    const rules = await fetch(`${prom.url}/api/v1/rules?type=alert`).then(
      async (r) =>
        (await r.json()) as { data: { groups: { rules: { name: string; duration: number }[] }[] } },
    );
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded).toHaveLength(18);
    expect(loaded.find((r) => r.name === "AttScoreDlqGrowing")?.duration).toBe(0);
    expect(loaded.find((r) => r.name === "AttTargetDown")?.duration).toBe(120);

    // Healthy: the scorer is scraped and scores 20 transactions; no DLQ alert.
    await expect
      .poll(async () => (await prom.targets()).map((x) => x.health), { timeout: 30_000 })
      .toEqual(["up"]);
    const producer = await connectedProducer();
    await producer.send({ topic: t.transfers, messages: toKafkaMessages(txs) });
    expect(await readTopic(t.findings, txs.length)).toHaveLength(txs.length);
    await expect
      .poll(async () => (await prom.query("sum(att_score_findings_total)"))[0]?.value[1], { timeout: 30_000 })
      .toBe(String(txs.length));
    const healthy = await prom.alerts();
    expect(healthy.map((a) => a.labels.alertname)).not.toContain("AttScoreDlqGrowing");
    expect(healthy.map((a) => a.labels.alertname)).not.toContain("AttTargetDown");

    // The fault: a message that is not a TokenTransferTx. The stage dead-letters it.
    const faultAt = Date.now();
    await producer.send({ topic: t.transfers, messages: [{ key: "0xbad", value: "not json" }] });
    const alert = await waitForAlert(() => prom.alerts(), "AttScoreDlqGrowing", "firing", 60_000);
    const firingSec = (Date.now() - faultAt) / 1000;
    expect(alert.labels.severity).toBe("warning");
    expect(alert.annotations.summary).toBe("1 messages dead-lettered in 15 minutes");
    const dlq = await readTopic(t.dlq, 1);
    expect(dlq).toHaveLength(1);
    expect(await prom.query('att_score_dlq_total{job="att-score"}')).toMatchObject([
      { metric: { reason: "malformed", code: "ATT_INVALID_JSON", stage: "score", instance: SCORER } },
    ]);

    // A stopped scorer: its target goes down and AttTargetDown matches at once; the shipped
    // `for: 2m` holds it in pending (promtool's unit tests cover it reaching firing).
    const killedAt = Date.now();
    await scorer.kill("SIGKILL");
    const down = await waitForAlert(() => prom.alerts(), "AttTargetDown", "pending", 30_000);
    const pendingSec = (Date.now() - killedAt) / 1000;
    expect(down.labels).toMatchObject({ job: "att-score", instance: SCORER, severity: "critical" });

    console.log(
      `[prometheus-live] AttScoreDlqGrowing firing ${firingSec.toFixed(1)} s after the malformed message was produced; ` +
        `AttTargetDown pending ${pendingSec.toFixed(1)} s after SIGKILL (1 s scrape and evaluation intervals)`,
    );
  });

  it("fires AttModelDrift when a drift window of transactions unlike the training data closes, z and PSI in its description", async () => {
    const promPort = PROMETHEUS_PORT + 2;
    const scorerAddress = `127.0.0.1:${SCORE_METRICS_PORT + 2}`;
    const t = await createScoreTopics("prom-drift", { transfers: 1, findings: 1 });
    // 100-transaction drift windows: the synthetic transfers are far from mainnet's training rows.
    const txs = syntheticTxs(100, { seed: 1920 });
    await seedEnrichmentCache(testRedis(), t.prefix, txs);
    const scorer = spawnAtt(t.group, ["score"], {
      ...scoreEnv({ ...t, extra: { ATT_LOG_LEVEL: "info", ATT_DRIFT_WINDOW_SIZE: "100" } }),
      ATT_METRICS_PORT: String(SCORE_METRICS_PORT + 2),
      ATT_METRICS_HOST: "127.0.0.1",
    });
    await scorer.waitFor(/"msg":"Scoring"/, 60_000);
    const prom = await startPrometheus(localConfigFor({ "att-score": [scorerAddress] }, "1s"), promPort);
    await expect
      .poll(async () => (await prom.targets()).map((x) => x.health), { timeout: 30_000 })
      .toEqual(["up"]);

    // Healthy: half a window scored, no window closed, att_drift_alarm 0.
    const producer = await connectedProducer();
    await producer.send({ topic: t.transfers, messages: toKafkaMessages(txs.slice(0, 50)) });
    expect(await readTopic(t.findings, 50)).toHaveLength(50);
    await expect
      .poll(async () => (await prom.query("max(att_drift_window_fill)"))[0]?.value[1], { timeout: 30_000 })
      .toBe("50");
    expect((await prom.query("max(att_drift_alarm)"))[0]?.value[1]).toBe("0");
    expect((await prom.alerts()).map((a) => a.labels.alertname)).not.toContain("AttModelDrift");

    // The fault: the rest of the window. It closes, alarms, and the stage writes a MODEL-DRIFT finding.
    const faultAt = Date.now();
    await producer.send({ topic: t.transfers, messages: toKafkaMessages(txs.slice(50)) });
    const alert = await waitForAlert(() => prom.alerts(), "AttModelDrift", "firing", 60_000);
    const firingSec = (Date.now() - faultAt) / 1000;
    const findings = await readTopic(t.findings, 101);
    expect(findings.filter((f) => f.value!.includes('"alertId":"MODEL-DRIFT"'))).toHaveLength(1);
    const z = Number((await prom.query("max(att_drift_anomaly_rate_z)"))[0]!.value[1]);
    const psi = Number((await prom.query("max(att_drift_score_psi)"))[0]!.value[1]);
    expect(alert.labels.severity).toBe("warning");
    expect(alert.annotations.description).toBe(
      `Anomaly-rate z = ${z.toFixed(1)}, score PSI = ${psi.toFixed(3)}. A MODEL-DRIFT finding names the drifting features; run \`att stats\` over the last day (docs/operations.md).`,
    );
    console.log(
      `[prometheus-live] AttModelDrift firing ${firingSec.toFixed(1)} s after the window's last 50 transactions were produced (z ${z.toFixed(1)}, score PSI ${psi.toFixed(3)})`,
    );
  });
});
