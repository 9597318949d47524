import { createRequire } from "node:module";
import type * as FortaSdk from "forta-agent";
import { describe, expect, it, onTestFinished } from "vitest";
import { possibleFindingKeys } from "../src/sink/findings.js";
import { parseFinding, toFortaSdkInput, type Finding } from "../src/contracts/finding.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { readMaxMessageBytes } from "../src/kernel/kafka/index.js";
import { Registry } from "../src/kernel/metrics.js";
import { resetGroupOffsets, GroupActiveError } from "../src/score/replay/replay.js";
import { createScoreStage, type ScoreStage } from "../src/score/stage.js";
import {
  connectedAdmin,
  connectedProducer,
  createTestTopic,
  readTopic,
  testClient,
} from "./helpers/kafka.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { testRedis } from "./helpers/redis.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";
import { cacheKey, encodeValue } from "../src/enrich/keys.js";
import { ConfigResourceTypes } from "kafkajs";

const { Finding: SdkFinding } = createRequire(import.meta.url)("forta-agent") as typeof FortaSdk;

interface Setup {
  transfers: string;
  findings: string;
  dlq: string;
  group: string;
  prefix: string;
  env: Record<string, string>;
}

async function setup(extraEnv: Record<string, string> = {}, findingsPartitions = 2): Promise<Setup> {
  const t = await createScoreTopics("score", { transfers: 2, findings: findingsPartitions });
  const env = scoreEnv({
    ...t,
    extra: {
      ATT_LOG_LEVEL: "warn",
      // Nothing listens here: a lookup that misses the cache fails until its deadline.
      ATT_RPC_HTTP_URL: "http://127.0.0.1:9",
      ATT_SCORE_ENRICH_DEADLINE_MS: "1500",
      ATT_ENRICH_ATTEMPTS: "2",
      ATT_ENRICH_BACKOFF_MS: "100",
      ...extraEnv,
    },
  });
  return { ...t, env };
}

async function startStage(s: Setup, registry = new Registry()): Promise<ScoreStage> {
  const config = loadConfig(s.env);
  const stage = await createScoreStage({
    config,
    logger: createLogger({ level: "warn" }),
    registry,
  });
  onTestFinished(() => stage.stop());
  await stage.start();
  return stage;
}

/** Waits until the group has committed every offset of the transfers topic (so every finding too). */
async function allOffsetsCommitted(s: Setup): Promise<void> {
  const admin = await connectedAdmin();
  const high = (await admin.fetchTopicOffsets(s.transfers)).map((p) => p.high).sort();
  await expect
    .poll(async () =>
      (await admin.fetchOffsets({ groupId: s.group, topics: [s.transfers] }))[0]!.partitions
        .map((p) => p.offset)
        .sort(),
    )
    .toEqual(high);
}

describe("att score (in-process, real Kafka and Redis)", () => {
  it("writes one finding per transaction, dead-letters malformed input and retracts reorged transactions", async () => {
    const s = await setup();
    const txs = syntheticTxs(40, { seed: 11 });
    const unknownSender = { ...syntheticTxs(1, { seed: 12, senders: 1 })[0]!, from: `0x${"9".repeat(40)}` };
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    const producer = await connectedProducer();
    await producer.send({
      topic: s.transfers,
      messages: [
        ...toKafkaMessages(txs),
        { key: unknownSender.from, value: JSON.stringify(unknownSender) },
        { key: "0xbad", value: '{"v":1,"chainId":1,"transfers":[{"value":1.5e21}]' },
        { key: txs[0]!.from, value: JSON.stringify({ ...txs[0], removed: true }) },
      ],
    });
    await startStage(s);

    const out = await readTopic(s.findings, txs.length + 1 + 3);
    const findings = out.filter((m) => m.value !== null).map((m) => parseFinding(m.value!));
    const tombstones = out.filter((m) => m.value === null);
    const byTx = new Map<string, Finding[]>();
    for (const f of findings)
      byTx.set(f.source.transactions![0]!.hash, [...(byTx.get(f.source.transactions![0]!.hash) ?? []), f]);
    expect(byTx.size).toBe(txs.length + 1);
    expect([...byTx.values()].every((l) => l.length === 1)).toBe(true);

    const invalid = byTx.get(unknownSender.txHash)![0]!;
    expect(invalid.alertId).toBe("INVALID-TOKEN-TRANSFERS-TX");
    // Says why (the provider failed for the sender: here the default otterscan provider's node,
    // which is not running, so ATT_RPC_UNAVAILABLE since the one JSON-RPC client), never a guess.
    expect(invalid.metadata.invalid_reason_code).toMatch(/^ATT_(ENRICHMENT|UPSTREAM|RPC)_/);
    expect(invalid.metadata.invalid_reason, invalid.metadata.invalid_reason).toMatch(/first/i);
    expect(invalid.metadata.prediction).toBeUndefined();
    for (const tx of txs) {
      const f = byTx.get(tx.txHash)![0]!;
      expect(["NORMAL-TOKEN-TRANSFERS-TX", "ANOMALOUS-TOKEN-TRANSFERS-TX"]).toContain(f.alertId);
      expect(Number(f.metadata.anomaly_score)).toBeGreaterThan(0);
      expect(f.metadata.model_version).toMatch(/\d+/);
    }
    expect(tombstones.map((t) => t.key).sort()).toEqual(
      possibleFindingKeys(txs[0]!, invalid.metadata.model_version!).sort(),
    );
    expect(tombstones.every((t) => t.headers["att-retraction"] === "reorg")).toBe(true);

    const [dead] = await readTopic(s.dlq, 1);
    const rec = JSON.parse(dead!.value!) as {
      error: { code: string; message: string };
      source: { topic: string; offset: string };
      valueBase64: string;
    };
    expect(rec.error.code).toBe("ATT_INVALID_JSON");
    expect(rec.source.topic).toBe(s.transfers);
    expect(Buffer.from(rec.valueBase64, "base64").toString()).toBe(
      '{"v":1,"chainId":1,"transfers":[{"value":1.5e21}]',
    );
    expect(dead!.key).toBe("0xbad");

    // Every offset advanced, the malformed message's included.
    const admin = await connectedAdmin();
    const high = await admin.fetchTopicOffsets(s.transfers);
    await expect
      .poll(async () => {
        const committed = await admin.fetchOffsets({ groupId: s.group, topics: [s.transfers] });
        return committed[0]!.partitions.map((p) => p.offset).sort();
      })
      .toEqual(high.map((p) => p.high).sort());
  });

  it("re-produces the same findings with the same uniqueKeys after a replay to the earliest offset", async () => {
    const s = await setup();
    const txs = syntheticTxs(60, { seed: 21 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    const producer = await connectedProducer();
    await producer.send({ topic: s.transfers, messages: toKafkaMessages(txs) });
    const first = await startStage(s);
    const firstPass = await readTopic(s.findings, txs.length);
    await first.stop();

    const admin = await connectedAdmin();
    const moves = await resetGroupOffsets(testClient, admin, {
      groupId: s.group,
      topic: s.transfers,
      target: { kind: "earliest" },
    });
    expect(moves.every((m) => m.to === "0")).toBe(true);
    await startStage(s);
    const both = await readTopic(s.findings, txs.length * 2);
    const keys = (list: typeof both) => list.map((m) => m.key).sort();
    expect(both).toHaveLength(txs.length * 2);
    const counts = new Map<string, number>();
    for (const k of keys(both)) counts.set(k!, (counts.get(k!) ?? 0) + 1);
    expect(new Set(keys(firstPass))).toEqual(new Set(counts.keys()));
    expect([...counts.values()].every((c) => c === 2)).toBe(true);
  });

  it("refuses to reset the offsets of a group that has running members", async () => {
    const s = await setup();
    const txs = syntheticTxs(5, { seed: 31 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    await (await connectedProducer()).send({ topic: s.transfers, messages: toKafkaMessages(txs) });
    await startStage(s);
    await readTopic(s.findings, txs.length);
    const admin = await connectedAdmin();
    const err = await resetGroupOffsets(testClient, admin, {
      groupId: s.group,
      topic: s.transfers,
      target: { kind: "earliest" },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GroupActiveError);
    expect((err as Error).message).toContain("running member");
    expect((err as Error).message).toContain("Fix: stop every `att score`");
  });

  it("sends NORMAL findings elsewhere and anomalies to the alerts topic when configured", async () => {
    const alerts = await createTestTopic("alerts", 1);
    const s = await setup({
      ATT_FINDINGS_NORMAL: "off",
      ATT_TOPIC_ALERTS: alerts,
      ATT_MODEL_THRESHOLD: "0.3",
    });
    const txs = syntheticTxs(10, { seed: 41 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    await (await connectedProducer()).send({ topic: s.transfers, messages: toKafkaMessages(txs) });
    await startStage(s);
    // With the threshold at 0.3 every transaction is anomalous: all land on both topics.
    const onAlerts = await readTopic(alerts, txs.length);
    expect(onAlerts.map((m) => parseFinding(m.value!).alertId)).toEqual(
      Array(txs.length).fill("ANOMALOUS-TOKEN-TRANSFERS-TX"),
    );
    const onMain = await readTopic(s.findings, txs.length);
    expect(onMain).toHaveLength(txs.length);
  });

  it("routes NORMAL findings to their own topic and INVALID ones to the alerts topic; every finding read back parses with the Forta SDK", async () => {
    const [alerts, normals] = [await createTestTopic("alerts", 1), await createTestTopic("normals", 2)];
    const s = await setup({
      ATT_FINDINGS_NORMAL: "topic",
      ATT_TOPIC_FINDINGS_NORMAL: normals,
      ATT_TOPIC_ALERTS: alerts,
    });
    const txs = syntheticTxs(30, { seed: 43 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    // Senders nobody knows: their first-transaction time never resolves, so they end INVALID.
    const unknown = syntheticTxs(3, { seed: 44 }).map((t, i) => ({
      ...t,
      from: `0x${String(i + 1).repeat(40)}`,
    }));
    await (
      await connectedProducer()
    ).send({ topic: s.transfers, messages: toKafkaMessages([...txs, ...unknown]) });
    await startStage(s);

    const alertIds = (ms: { value: string | null }[]) => ms.map((m) => parseFinding(m.value!).alertId).sort();
    // Every offset committed means every finding committed: then each topic is read to its end.
    await allOffsetsCommitted(s);
    const all = { timeoutMs: 15_000, idleMs: 2000 };
    const [onMain = [], onNormal = [], onAlerts = []] = await Promise.all(
      [s.findings, normals, alerts].map((t) => readTopic(t, Infinity, all)),
    );
    const normal = alertIds(onNormal).filter((a) => a === "NORMAL-TOKEN-TRANSFERS-TX").length;
    expect(normal).toBeGreaterThan(20);
    // NORMAL only on the normal topic; everything else on the main topic, INVALID also on alerts.
    expect(alertIds(onMain).filter((a) => a === "NORMAL-TOKEN-TRANSFERS-TX")).toEqual([]);
    expect(onNormal.length + onMain.length).toBe(txs.length + unknown.length);
    expect(alertIds(onAlerts).filter((a) => a === "INVALID-TOKEN-TRANSFERS-TX")).toHaveLength(unknown.length);
    expect(alertIds(onAlerts)).toEqual(alertIds(onMain));

    for (const m of [...onNormal, ...onAlerts, ...onMain]) {
      const printed = SdkFinding.fromObject(toFortaSdkInput(parseFinding(m.value!)) as never).toString();
      expect(JSON.parse(printed)).toEqual(JSON.parse(m.value!));
    }
  });

  it("commits a batch whose findings exceed one produce request on a single-partition topic (regression: message too large)", async () => {
    const s = await setup({ ATT_SCORE_BATCH_MAX: "2000", ATT_SCORE_EXPLAIN_NORMAL: "true" }, 1);
    const txs = syntheticTxs(2000, { seed: 51 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    await (await connectedProducer()).send({ topic: s.transfers, messages: toKafkaMessages(txs) });
    await startStage(s);
    const out = await readTopic(s.findings, txs.length, { timeoutMs: 60_000 });
    expect(out.reduce((n, m) => n + (m.value?.length ?? 0), 0)).toBeGreaterThan(2 * 1024 * 1024);
    expect(new Set(out.map((m) => m.key)).size).toBe(txs.length);
  });

  it("writes no NORMAL finding at all when they are turned off, and still commits every offset", async () => {
    const s = await setup({ ATT_FINDINGS_NORMAL: "off" });
    const txs = syntheticTxs(300, { seed: 61 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    await (await connectedProducer()).send({ topic: s.transfers, messages: toKafkaMessages(txs) });
    await startStage(s);
    await allOffsetsCommitted(s);
    const out = await readTopic(s.findings, Infinity, { timeoutMs: 4000, idleMs: 2000 });
    expect(
      out.map((m) => parseFinding(m.value!).alertId).filter((a) => a === "NORMAL-TOKEN-TRANSFERS-TX"),
    ).toEqual([]);
  });

  it("dead-letters a message whose finding the broker refuses once its chunk failed ATT_SCORE_POISON_ATTEMPTS times, and goes on, counting each row once for drift", async () => {
    // Drift windows of 100 rows: the 131 rows close one window inside the chunk that fails.
    // Uncompressed: the broker compares the compressed batch with the limit, and an lz4 batch of
    // the poison's repetitive finding would fit.
    const s = await setup(
      { ATT_SCORE_POISON_ATTEMPTS: "2", ATT_DRIFT_WINDOW_SIZE: "100", ATT_FINDINGS_COMPRESSION: "none" },
      1,
    );
    const admin = await connectedAdmin();
    const registry = new Registry();
    // The limit is lowered after the stage read it at start-up (an operator's change): the stage
    // sizes findings for 1 MiB, so only the broker's refusal finds the poison.
    await startStage(s, registry);
    // Findings of up to 64 KiB per record batch: ordinary chunks fit, the poison's finding does not.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: s.findings,
          configEntries: [{ name: "max.message.bytes", value: String(64 * 1024) }],
        },
      ],
    });
    // The broker applies the change through its metadata log: wait until it reports it.
    await expect
      .poll(async () => (await readMaxMessageBytes(admin, [s.findings])).get(s.findings), { timeout: 10_000 })
      .toBe(64 * 1024);
    const txs = syntheticTxs(130, { seed: 71 });
    await seedEnrichmentCache(testRedis(), s.prefix, txs);
    // 3,500 distinct tokens: the finding's token_types alone is ~80 KB.
    const base = syntheticTxs(1, { seed: 72 })[0]!;
    const tokens = Array.from({ length: 3500 }, (_, i) => ({
      address: `0x${(0xdead0000 + i).toString(16).padStart(40, "0")}`,
      kind: "erc20" as const,
      symbol: `POISON-TOKEN-${i}`,
      name: `Poison token ${i}`,
      decimals: 18,
    }));
    const pipe = testRedis().pipeline();
    for (const t of tokens) pipe.set(cacheKey(s.prefix, "token", 1, t.address), encodeValue("token", t));
    pipe.set(cacheKey(s.prefix, "firsttx", 1, base.from), encodeValue("firsttx", 1_600_000_000));
    await pipe.exec();
    const poison = {
      ...base,
      transfers: tokens.map((t, i) => ({
        logIndex: i,
        token: t.address,
        from: base.from,
        to: base.from,
        value: "1",
      })),
    };
    const producer = await connectedProducer();
    // All on partition 0, the poison in the middle of the first chunk.
    const messages = toKafkaMessages(txs).map((m) => ({ ...m, partition: 0 }));
    messages.splice(10, 0, { key: poison.from, value: JSON.stringify(poison), partition: 0 });
    await producer.send({ topic: s.transfers, messages });

    const [dead] = await readTopic(s.dlq, 1, { timeoutMs: 90_000 });
    const rec = JSON.parse(dead!.value!) as {
      error: { code: string; message: string };
      source: { offset: string };
      valueBase64: string;
      stage: string;
    };
    expect(rec.error.code).toBe("ATT_KAFKA_MESSAGE_TOO_LARGE");
    expect(rec.error.message).toMatch(/refused this message's output/);
    expect(rec.source.offset).toBe("10");
    expect(rec.stage).toBe("score");
    expect(Buffer.from(rec.valueBase64, "base64").toString()).toBe(JSON.stringify(poison));

    // Every other transaction got its finding exactly once, and every offset is committed.
    const out = await readTopic(s.findings, Infinity, { timeoutMs: 30_000, idleMs: 3000 });
    const parsed = out.map((m) => parseFinding(m.value!));
    const hashes = parsed
      .filter((f) => f.alertId !== "MODEL-DRIFT")
      .map((f) => f.source.transactions![0]!.hash);
    expect(hashes.sort()).toEqual(txs.map((t) => t.txHash).sort());
    // Each row observed once by the drift monitor, though the chunk was read three times: one
    // window of 100 closed (its alarm finding carried past the failed commits), 31 rows in the next.
    expect(parsed.filter((f) => f.alertId === "MODEL-DRIFT")).toHaveLength(1);
    expect(await registry.getSingleMetricAsString("att_drift_window_fill")).toContain(
      "att_drift_window_fill 31",
    );
    const high = (await admin.fetchTopicOffsets(s.transfers)).find((p) => p.partition === 0)!.high;
    expect(high).toBe(String(txs.length + 1));
    await expect
      .poll(
        async () =>
          (await admin.fetchOffsets({ groupId: s.group, topics: [s.transfers] }))[0]!.partitions.find(
            (p) => p.partition === 0,
          )?.offset,
        { timeout: 10_000 },
      )
      .toBe(high);
    const dlqMetric = await registry.getSingleMetricAsString("att_score_dlq_total");
    expect(dlqMetric).toContain('att_score_dlq_total{reason="poison",code="ATT_KAFKA_MESSAGE_TOO_LARGE"} 1');
  });
});
