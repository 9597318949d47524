import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { startScoreStage, waitCommittedToEnd } from "./faults/harness.js";
import { connectedProducer, createTestTopic, readTopic, testKafka } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { testRedis } from "./helpers/redis.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { seedEnrichmentCache, syntheticTxs } from "./helpers/transfers.js";

/**
 * The example subscriber in another language (examples/python-subscriber, confluent-kafka from
 * PyPI): it reads a findings topic read_committed and validates every record against the
 * published schema (schemas/finding.v1.schema.json). docs/score.md "Subscribers".
 */

const SETUP = resolve("examples/python-subscriber/setup.sh");
const SUBSCRIBER = resolve("examples/python-subscriber/subscriber.py");

interface Summary {
  records: number;
  valid: number;
  invalid: number;
  tombstones: number;
  distinct_keys: number;
  by_alert_id: Record<string, number>;
}

let python = "";

beforeAll(() => {
  // Idempotent; npm test runs it in its dependencies step already, so this is a no-op there.
  const r = spawnSync("bash", [SETUP], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${SETUP} failed:\n${r.stdout}\n${r.stderr}`);
  python = r.stdout.trim().split("\n").at(-1)!;
}, 600_000);

/** Runs the subscriber to the end of `topic` in a group of its own. */
function subscribe(topic: string): Promise<{ status: number | null; summary: Summary; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      python,
      [
        SUBSCRIBER,
        "--brokers",
        KAFKA_BROKERS.join(","),
        "--topic",
        topic,
        "--group",
        uniqueName("pysub"),
        "--stop-at-end",
        "--quiet",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (status) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        done({ status, summary: JSON.parse(last) as Summary, stderr });
      } catch {
        fail(new Error(`subscriber exited ${status} without a summary line:\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe("the Python subscriber (confluent-kafka, read_committed, published JSON Schema)", () => {
  it("validates every finding of a pipeline run, and never sees an aborted transaction's records", async () => {
    const topics = await createScoreTopics("pysub", { transfers: 3, findings: 3 });
    const txs = syntheticTxs(150, { seed: 1906 });
    await seedEnrichmentCache(testRedis(), topics.prefix, txs);
    const producer = await connectedProducer();
    await producer.send({
      topic: topics.transfers,
      messages: txs.map((t) => ({ key: t.from, value: JSON.stringify(t) })),
    });
    await producer.disconnect();
    await startScoreStage(scoreEnv(topics));
    await waitCommittedToEnd(topics.transfers, topics.group);

    // A transaction on the findings topic that is aborted: records no read_committed reader may
    // see, and that would fail the schema if it did.
    const aborting = testKafka.producer({
      transactionalId: uniqueName("pysub-abort"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await aborting.connect();
    const txn = await aborting.transaction();
    await txn.send({
      topic: topics.findings,
      messages: [0, 1, 2].map((p) => ({ key: `aborted-${p}`, value: '{"not":"a finding"}', partition: p })),
    });
    await txn.abort();
    await aborting.disconnect();

    const { status, summary, stderr } = await subscribe(topics.findings);
    console.log(`python subscriber: ${JSON.stringify(summary)}`);
    expect(stderr).not.toContain("invalid record");
    expect(status).toBe(0);
    expect(summary.records).toBe(txs.length);
    expect(summary.valid).toBe(txs.length);
    expect(summary.invalid).toBe(0);
    expect(summary.tombstones).toBe(0);
    expect(summary.distinct_keys).toBe(txs.length);
    // the same findings as the project's own read_committed reader counts
    const ours = await readTopic(topics.findings, txs.length, { readCommitted: true });
    const byAlert: Record<string, number> = {};
    for (const r of ours) {
      const id = (JSON.parse(r.value!) as { alertId: string }).alertId;
      byAlert[id] = (byAlert[id] ?? 0) + 1;
    }
    expect(summary.by_alert_id).toEqual(byAlert);
  }, 300_000);

  it("reports a record that violates the schema as invalid, with the field, and exits 1", async () => {
    const source = await createScoreTopics("pysub-neg", { transfers: 1, findings: 1 });
    const txs = syntheticTxs(2, { seed: 1907 });
    await seedEnrichmentCache(testRedis(), source.prefix, txs);
    const producer = await connectedProducer();
    await producer.send({
      topic: source.transfers,
      messages: txs.map((t) => ({ key: t.from, value: JSON.stringify(t) })),
    });
    await startScoreStage(scoreEnv(source));
    await waitCommittedToEnd(source.transfers, source.group);
    const [a, b] = await readTopic(source.findings, 2, { readCommitted: true });

    // A topic of its own: one real finding, the other with a severity the contract does not
    // have, a record whose key is not its uniqueKey, a tombstone and bytes that are not JSON.
    const topic = await createTestTopic("pysub-invalid", 1);
    const broken = { ...(JSON.parse(b!.value!) as Record<string, unknown>), severity: "Catastrophic" };
    await producer.send({
      topic,
      messages: [
        { key: a!.key, value: a!.value },
        { key: b!.key, value: JSON.stringify(broken) },
        { key: "not-the-unique-key", value: a!.value },
        { key: a!.key, value: null },
        { key: "garbage", value: "{not json" },
      ],
    });
    await producer.disconnect();

    const { status, summary, stderr } = await subscribe(topic);
    expect(status).toBe(1);
    expect(summary).toMatchObject({ records: 5, valid: 1, invalid: 3, tombstones: 1 });
    expect(stderr).toMatch(
      /invalid record at partition 0 offset 1, key .*: severity: 'Catastrophic' is not one of/,
    );
    expect(stderr).toContain(
      "offset 2, key 'not-the-unique-key': key 'not-the-unique-key' is not the finding's uniqueKey",
    );
    expect(stderr).toMatch(/offset 4, key 'garbage': not JSON/);
  }, 300_000);
});
