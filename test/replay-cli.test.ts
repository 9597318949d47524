import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  connectedAdmin,
  connectedProducer,
  createTestTopic,
  readTopic,
  testClient,
  testKafka,
} from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { runAtt, type AttResult } from "./helpers/processes.js";
import { testRedis } from "./helpers/redis.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "./helpers/transfers.js";
import type { Admin } from "kafkajs";
import { kafkajsClient } from "./helpers/kafka-clients.js";
import { findingUniqueKey, parseFinding, type Finding } from "../src/contracts/finding.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { commitGroupOffsets } from "../src/kernel/kafka/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { listVersions } from "../src/model/registry.js";
import { createScoreStage } from "../src/score/stage.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const REGISTRY = join(ROOT, "models", "registry");

type Offsets = Record<number, string>;

/** The group's committed offset of every partition of the topic ("-1" = none). */
async function committed(admin: Admin, group: string, topic: string): Promise<Offsets> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]));
}

/** Where the group stands before every command; each mode below moves every partition elsewhere. */
const START: Offsets = { 0: "5", 1: "1", 2: "1" };

interface Fixture {
  topic: string;
  group: string;
  admin: Admin;
  /** Time of each partition's first message, ms, whole seconds. */
  base: number;
  env: Record<string, string>;
  run(args: string[]): Promise<AttResult>;
  offsets(): Promise<Offsets>;
}

/**
 * A three-partition input topic whose partitions answer every reset mode differently:
 *   partition 0: offsets 0–5 at base + 0, 60, …, 300 s; 0 and 1 deleted (log start 2, end 6)
 *   partition 1: offsets 0–3 at base + 0, 100, 200, 300 s (log start 0, end 4)
 *   partition 2: offsets 0–1 at base + 0, 30 s (log start 0, end 2)
 * and a stopped group committed at START. Times are an hour old: well inside the broker's
 * retention, so no segment is deleted under the test.
 */
async function fixture(): Promise<Fixture> {
  const topic = await createTestTopic("replay-in", 3);
  const group = uniqueName("replay");
  const admin = await connectedAdmin();
  const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const at = (partition: number, seconds: number[]) =>
    seconds.map((s) => ({ partition, value: "{}", timestamp: String(base + s * 1000) }));
  await (
    await connectedProducer()
  ).send({
    topic,
    messages: [...at(0, [0, 60, 120, 180, 240, 300]), ...at(1, [0, 100, 200, 300]), ...at(2, [0, 30])],
  });
  // kafkajs deletes records only on topics whose metadata this client has loaded.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "2" }] });
  expect(
    (await admin.fetchTopicOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((p) => [p.low, p.high]),
  ).toEqual([
    ["2", "6"],
    ["0", "4"],
    ["0", "2"],
  ]);
  await commitGroupOffsets(testClient, {
    groupId: group,
    topic,
    partitions: Object.entries(START).map(([p, offset]) => ({ partition: Number(p), offset })),
  });
  const env = {
    ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    ATT_TOPIC_TRANSFERS: topic,
    ATT_LOG_LEVEL: "warn",
  };
  const f: Fixture = {
    topic,
    group,
    admin,
    base,
    env,
    run: (args) => runAtt(["replay", "--group", group, ...args], env, 50_000),
    offsets: () => committed(admin, group, topic),
  };
  expect(await f.offsets()).toEqual(START);
  return f;
}

describe("att replay (the CLI against real Kafka)", () => {
  it("--to-earliest moves every partition to its log start, not to 0, and --dry-run only prints the moves", async () => {
    const f = await fixture();
    const dry = await f.run(["--to-earliest", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Would move group ${f.group} on ${f.topic}`);
    expect(await f.offsets()).toEqual(START);

    const r = await f.run(["--to-earliest"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Moved group ${f.group} on ${f.topic}`);
    expect(await f.offsets()).toEqual({ 0: "2", 1: "0", 2: "0" });
  });

  it("--to-latest moves every partition to its end", async () => {
    const f = await fixture();
    const r = await f.run(["--to-latest"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await f.offsets()).toEqual({ 0: "6", 1: "4", 2: "2" });
  });

  it(
    "--to-timestamp moves each partition to its first message at or after the time, or to its end when it has none, given as ISO-8601, unix seconds or unix milliseconds",
    { timeout: 120_000 },
    async () => {
      const f = await fixture();
      // Each time lands every partition but the last elsewhere than the one before: a form
      // that moved nothing would fail.
      const cases: [given: string, expected: Offsets][] = [
        // 0: the message at +240 s; 1: the one at +300 s; 2: nothing after +30 s, so its end.
        [new Date(f.base + 210_000).toISOString(), { 0: "4", 1: "3", 2: "2" }],
        // A message exactly at the time counts (partition 1's at +100 s); deleted ones do not.
        [String(f.base / 1000 + 100), { 0: "2", 1: "1", 2: "2" }],
        [String(f.base + 150_000), { 0: "3", 1: "2", 2: "2" }],
      ];
      for (const [given, expected] of cases) {
        const r = await f.run(["--to-timestamp", given]);
        expect(r.code, r.stderr).toBe(0);
        expect(await f.offsets(), given).toEqual(expected);
      }
    },
  );

  it("--to-offset moves exactly the partitions it names, accepting the log start and the end, and leaves the others", async () => {
    const f = await fixture();
    const r = await f.run(["--to-offset", "0:2, 2:2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await f.offsets()).toEqual({ 0: "2", 1: START[1], 2: "2" });
  });

  it(
    "refuses every mode while consumers are in the group, naming each member, and moves nothing",
    { timeout: 120_000 },
    async () => {
      const f = await fixture();
      const clientIds = [uniqueName("member-a"), uniqueName("member-b")];
      for (const clientId of clientIds) {
        const consumer = kafkajsClient({ clientId }).consumer({
          groupId: f.group,
        });
        await consumer.connect();
        onTestFinished(() => consumer.disconnect());
        await consumer.subscribe({ topic: f.topic });
        // Never commits: whatever moves the offsets below is the replay.
        await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
      }
      await expect
        .poll(async () => (await f.admin.describeGroups([f.group])).groups[0]!.members.length, {
          timeout: 30_000,
        })
        .toBe(2);

      for (const mode of [
        ["--to-earliest"],
        ["--to-latest"],
        ["--to-timestamp", String(f.base)],
        ["--to-offset", "0:3"],
      ]) {
        const r = await f.run(mode);
        expect(r.code, mode.join(" ")).toBe(1);
        expect(r.stderr).toContain(`Consumer group "${f.group}" has 2 running member(s)`);
        for (const id of clientIds) expect(r.stderr).toContain(`${id}@`);
        expect(r.stderr).toContain("Fix: stop every `att score` of this group");
        expect(r.stdout).not.toContain("Moved");
      }
      expect(await f.offsets()).toEqual(START);
    },
  );

  const badInputs: { name: string; args: string[]; says: (f: Fixture) => string[] }[] = [
    {
      name: "a time that is not a time",
      args: ["--to-timestamp", "yesterday"],
      says: () => ['Invalid --to-timestamp: got "yesterday"', "Expected: an ISO-8601 time"],
    },
    {
      // Date.parse's legacy fallback reads "-1" as 2001-01-01 and "hello 2020" as 2020-01-01.
      name: "a negative number as time",
      args: ["--to-timestamp", "-1"],
      says: () => ['Invalid --to-timestamp: got "-1"', "Expected: an ISO-8601 time"],
    },
    {
      name: "a year inside words as time",
      args: ["--to-timestamp", "hello 2020"],
      says: () => ['Invalid --to-timestamp: got "hello 2020"', "Expected: an ISO-8601 time"],
    },
    {
      name: "an empty time",
      args: ["--to-timestamp", ""],
      says: () => ['Invalid --to-timestamp: got ""', "Expected: an ISO-8601 time"],
    },
    {
      name: "an offsets entry that is not partition:offset",
      args: ["--to-offset", "0:3,1=2"],
      says: () => ['Invalid --to-offset entry "1=2"', "Expected: partition:offset pairs"],
    },
    {
      name: "a negative offset",
      args: ["--to-offset", "0:-1"],
      says: () => ['Invalid --to-offset entry "0:-1"', "Expected: partition:offset pairs"],
    },
    {
      name: "an offsets list without any pair",
      args: ["--to-offset", ","],
      says: () => [
        "Invalid --to-offset: no partition:offset pairs given",
        "Expected: partition:offset pairs",
      ],
    },
    {
      name: "a partition the topic does not have",
      args: ["--to-offset", "0:3,7:0"],
      says: (f) => [`Invalid --to-offset: topic ${f.topic} has no partition 7`, "Partitions: 0, 1, 2"],
    },
    {
      name: "an offset past the end of its partition",
      args: ["--to-offset", "0:3,1:5"],
      says: (f) => [
        `Invalid --to-offset: offset 5 is outside partition 1 of ${f.topic}`,
        "Expected: an offset from 0 (log start) to 4 (end)",
      ],
    },
    {
      name: "an offset below the log start of its partition",
      args: ["--to-offset", "0:1"],
      says: (f) => [
        `Invalid --to-offset: offset 1 is outside partition 0 of ${f.topic}`,
        "Expected: an offset from 2 (log start) to 6 (end)",
      ],
    },
    {
      name: "two targets",
      args: ["--to-earliest", "--to-latest"],
      says: () => ["att replay needs exactly one target", "Expected one of --to-earliest, --to-latest"],
    },
    {
      name: "no target",
      args: [],
      says: () => ["att replay needs exactly one target"],
    },
    {
      name: "a topic that does not exist",
      args: ["--topic", "att-no-such-topic", "--to-earliest"],
      says: () => ["Invalid --topic: topic att-no-such-topic does not exist"],
    },
  ];

  // A loop rather than it.each: it.each's $name cuts names at 40 characters.
  for (const { name, args, says } of badInputs) {
    it(`rejects ${name} with an error naming the flag and what it expected, and moves nothing`, async () => {
      const f = await fixture();
      const r = await f.run(args);
      expect(r.code, r.stderr).toBe(1);
      for (const line of says(f)) expect(r.stderr).toContain(line);
      expect(r.stdout).not.toContain("Moved");
      expect(await f.offsets()).toEqual(START);
    });
  }
});

describe("commitGroupOffsets (what att replay commits with)", () => {
  it("commits a member-less group's offsets at once, and is refused while a consumer is in the group", async () => {
    const topic = await createTestTopic("replay-commit", 2);
    const groupId = uniqueName("replay-commit");
    const admin = await connectedAdmin();
    await commitGroupOffsets(testClient, {
      groupId,
      topic,
      partitions: [
        { partition: 0, offset: "0" },
        { partition: 1, offset: "0" },
      ],
    });
    expect(await committed(admin, groupId, topic)).toEqual({ 0: "0", 1: "0" });
    const consumer = testKafka.consumer({ groupId });
    await consumer.connect();
    onTestFinished(() => consumer.disconnect());
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async () => undefined });
    await expect.poll(async () => (await admin.describeGroups([groupId])).groups[0]!.members.length).toBe(1);
    const err = await commitGroupOffsets(testClient, {
      groupId,
      topic,
      partitions: [{ partition: 0, offset: "0" }],
    }).catch((e: unknown) => e);
    expect((err as { type?: string }).type).toBe("UNKNOWN_MEMBER_ID");
  });
});

const cardVersion = (folder: string): string =>
  (JSON.parse(readFileSync(join(REGISTRY, folder, "model.json"), "utf8")) as { version: string }).version;

async function startStage(env: Record<string, string>): Promise<void> {
  const stage = await createScoreStage({
    config: loadConfig(env),
    logger: createLogger({ level: "warn" }),
    registry: new Registry(),
  });
  onTestFinished(() => stage.stop());
  await stage.start();
}

describe("a shadow model beside the live one (docs/score.md, Replay and shadow models)", () => {
  it("scores the same transfers with another model version into its own findings topic and group: one finding per transaction each, stamped with its model version, under different uniqueKeys", async () => {
    const liveFolder = readFileSync(join(REGISTRY, "DEFAULT"), "utf8").trim();
    const shadowFolder = listVersions(REGISTRY).find((v) => v.startsWith("att-original-"))!;
    const liveVersion = cardVersion(liveFolder);
    const shadowVersion = cardVersion(shadowFolder);
    expect(shadowVersion).not.toBe(liveVersion);

    const live = await createScoreTopics("shadow", { transfers: 2, findings: 2 });
    const shadowFindings = await createTestTopic("shadow-findings-b", 2);
    const shadowGroup = uniqueName("shadow-b");
    const txs = syntheticTxs(80, { seed: 131 });
    await seedEnrichmentCache(testRedis(), live.prefix, txs);
    await (await connectedProducer()).send({ topic: live.transfers, messages: toKafkaMessages(txs) });

    const liveEnv = scoreEnv({
      ...live,
      extra: { ATT_LOG_LEVEL: "warn", ATT_RPC_HTTP_URL: "http://127.0.0.1:9" },
    });
    // The documented recipe: only the group, the findings topic and the model differ (the
    // transactional-id prefix stays the same: the ids carry the group, so neither fences the other).
    const shadowEnv = {
      ...liveEnv,
      ATT_SCORE_GROUP_ID: shadowGroup,
      ATT_TOPIC_FINDINGS: shadowFindings,
      ATT_MODEL_VERSION: shadowFolder,
    };
    await Promise.all([startStage(liveEnv), startStage(shadowEnv)]);

    // Both groups have committed every offset, so every finding either wrote is committed too.
    const admin = await connectedAdmin();
    const end = Object.fromEntries(
      (await admin.fetchTopicOffsets(live.transfers)).map((p) => [p.partition, p.high]),
    );
    for (const group of [live.group, shadowGroup])
      await expect.poll(() => committed(admin, group, live.transfers), { timeout: 30_000 }).toEqual(end);

    const findingsOf = async (topic: string) => {
      const out = await readTopic(topic, Infinity, { timeoutMs: 20_000, idleMs: 2000 });
      const byTx = new Map<string, { key: string | null; finding: Finding }[]>();
      for (const m of out) {
        const finding = parseFinding(m.value!);
        const hash = finding.source.transactions![0]!.hash;
        byTx.set(hash, [...(byTx.get(hash) ?? []), { key: m.key, finding }]);
      }
      return byTx;
    };
    const [a, b] = await Promise.all([findingsOf(live.findings), findingsOf(shadowFindings)]);

    for (const [byTx, version] of [
      [a, liveVersion],
      [b, shadowVersion],
    ] as const) {
      expect([...byTx.keys()].sort()).toEqual(txs.map((t) => t.txHash).sort());
      for (const tx of txs) {
        const list = byTx.get(tx.txHash)!;
        expect(list, tx.txHash).toHaveLength(1);
        const { key, finding } = list[0]!;
        expect(finding.metadata.model_version).toBe(version);
        // uniqueKey = sha256(chainId | txHash | alertId | modelVersion), also the record key.
        expect(finding.uniqueKey).toBe(
          findingUniqueKey({
            chainId: tx.chainId,
            txHash: tx.txHash,
            alertId: finding.alertId,
            modelVersion: version,
          }),
        );
        expect(key).toBe(finding.uniqueKey);
      }
    }
    const keysA = new Set([...a.values()].map((l) => l[0]!.finding.uniqueKey));
    expect([...b.values()].filter((l) => keysA.has(l[0]!.finding.uniqueKey))).toEqual([]);
    // The shadow really ran its own model, not the live one under another name.
    const score = (byTx: typeof a, hash: string) => byTx.get(hash)![0]!.finding.metadata.anomaly_score;
    expect(txs.filter((tx) => score(a, tx.txHash) !== score(b, tx.txHash)).length).toBeGreaterThan(
      txs.length / 2,
    );
  });
});
