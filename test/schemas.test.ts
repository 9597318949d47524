import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import type { AllowlistEntry } from "../src/contracts/allowlist.js";
import { allowlistEntrySchema } from "../src/contracts/allowlist.js";
import { dlqRecord, dlqRecordSchema, fitDlqRecord } from "../src/contracts/dlq.js";
import { findingSchema } from "../src/contracts/finding.js";
import { tokenTransferTxSchema } from "../src/contracts/token-transfer-tx.js";
import type { Verdict } from "../src/contracts/verdict.js";
import { verdictSchema } from "../src/contracts/verdict.js";
import { PUBLISHED, renderSchemas, SCHEMAS_DIR } from "../scripts/gen-schemas.js";
import { startScoreStage, waitCommittedToEnd } from "./faults/harness.js";
import { connectedProducer, readTopic } from "./helpers/kafka.js";
import { testRedis } from "./helpers/redis.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs } from "./helpers/transfers.js";
import { rng } from "./helpers/rng.js";

/**
 * The published JSON Schema files (schemas/) are the zod contracts, byte for byte as the
 * generator prints them, and they accept the records the pipeline really writes.
 */

function schemaFile(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, file), "utf8")) as Record<string, unknown>;
}

/** One validator per published file, compiled by ajv in strict mode (unknown keywords are errors). */
function validators(): Map<string, ValidateFunction> {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // zod writes a pattern beside every format it emits; the format is checked as well.
  ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
  return new Map(PUBLISHED.map((p) => [p.file, ajv.compile(schemaFile(p.file))]));
}

const POOL: unknown[] = [
  null,
  0,
  -1,
  1.5,
  2 ** 53,
  "",
  "x",
  "1",
  "0x",
  `0x${"ab".repeat(20)}`,
  `0x${"AB".repeat(20)}`,
  `0x${"cd".repeat(32)}`,
  "2026-12-06T20:00:00.000Z",
  "2026-12-06 20:00:00",
  "2026-02-30T00:00:00Z",
  "true-positive",
  "sender",
  "Critical",
  true,
  [],
  {},
  { v: 1 },
];

/** A copy of `good` with one or two fields (at any depth) replaced, removed or added. */
function mutate(good: unknown, rand: () => number): unknown {
  const copy = JSON.parse(JSON.stringify(good)) as unknown;
  const objects: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (v && typeof v === "object") {
      if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
      for (const c of Object.values(v)) walk(c);
    }
  };
  walk(copy);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0, n = 1 + Math.floor(rand() * 2); i < n; i++) {
    const target = pick(objects);
    const keys = [...Object.keys(target), "extra"];
    const key = pick(keys);
    if (rand() < 0.2) delete target[key];
    else target[key] = pick(POOL);
  }
  return copy;
}

const verdict: Verdict = {
  v: 1,
  chainId: 1,
  txHash: `0x${"ab".repeat(32)}`,
  verdict: "false-positive",
  note: "MEV bot 0xae2f…, see ticket 123",
  analyst: "alice@example.org",
  at: "2026-12-06T20:00:00.000Z",
};
const allowlistEntry: AllowlistEntry = {
  v: 1,
  chainId: 1,
  address: `0x${"cd".repeat(20)}`,
  kind: "sender",
  reason: "known MEV searcher",
  addedBy: "alice@example.org",
  at: "2026-12-06T20:00:00Z",
};

describe("published schemas (schemas/*.schema.json)", () => {
  it("are what the generator makes of the zod schemas today, byte for byte, and nothing else", async () => {
    const rendered = await renderSchemas();
    const onDisk = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith(".schema.json"));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) {
      expect(
        readFileSync(join(SCHEMAS_DIR, file), "utf8"),
        `schemas/${file} is out of date: run npm run build and commit schemas/`,
      ).toBe(text);
    }
  });

  it("compile in ajv's strict mode as JSON Schema 2020-12, each with its own $id", () => {
    const v = validators();
    expect([...v.keys()].sort()).toEqual(PUBLISHED.map((p) => p.file).sort());
    const ids = PUBLISHED.map((p) => schemaFile(p.file).$id);
    expect(new Set(ids).size).toBe(PUBLISHED.length);
  });

  it("accept exactly what the zod schemas accept, on 3,000 mutated records of each contract", () => {
    const v = validators();
    const cases: [string, z.ZodType, unknown][] = [
      ["token-transfer-tx.v1.schema.json", tokenTransferTxSchema, syntheticTxs(1, { seed: 7 })[0]],
      ["verdict.v1.schema.json", verdictSchema, verdict],
      ["allowlist-entry.v1.schema.json", allowlistEntrySchema, allowlistEntry],
      [
        "dlq-record.v1.schema.json",
        dlqRecordSchema,
        JSON.parse(
          fitDlqRecord(
            dlqRecord({
              error: { code: "ATT_INVALID_JSON", message: "Invalid TokenTransferTx: not JSON" },
              topic: "att.token-transfers.v1",
              partition: 2,
              offset: "41",
              timestamp: "1765051200000",
              key: Buffer.from("0xabc"),
              value: Buffer.from("x".repeat(5000)),
              stage: "score",
            }),
            Buffer.from("x".repeat(5000)),
            2048,
          ),
        ),
      ],
    ];
    for (const [file, schema, good] of cases) {
      const validate = v.get(file)!;
      expect(validate(good), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(schema.safeParse(good).success).toBe(true);
      const rand = rng(file.length * 7919);
      let accepted = 0;
      const disagreements: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const input = mutate(good, rand);
        const bySchema = validate(input);
        const byZod = schema.safeParse(input).success;
        if (bySchema) accepted += 1;
        if (bySchema !== byZod && disagreements.length < 3)
          disagreements.push(`json-schema=${bySchema} zod=${byZod}: ${JSON.stringify(input)}`);
      }
      expect(disagreements, file).toEqual([]);
      // both outcomes are exercised: the schema can fail, and it is not a wall
      expect(accepted, file).toBeGreaterThan(50);
      expect(accepted, file).toBeLessThan(2900);
    }
  });

  it("say in words what they cannot state: a uint256 above 2^256 passes the JSON Schema, zod refuses it", () => {
    const tx = syntheticTxs(1, { seed: 8 })[0]!;
    const over = { ...tx, transfers: [{ ...tx.transfers[0]!, value: (1n << 256n).toString() }] };
    expect(validators().get("token-transfer-tx.v1.schema.json")!(over)).toBe(true);
    expect(tokenTransferTxSchema.safeParse(over).success).toBe(false);
    expect(schemaFile("token-transfer-tx.v1.schema.json").description).toContain("below 2^256");
  });

  it("accept every finding and DLQ record a real score stage writes, and its input", async () => {
    const topics = await createScoreTopics("schemas", { transfers: 1, findings: 1 });
    const txs = syntheticTxs(40, { seed: 1219 });
    await seedEnrichmentCache(testRedis(), topics.prefix, txs);
    const producer = await connectedProducer();
    const poison = [
      { key: "k1", value: "not json{" },
      { key: "k2", value: JSON.stringify({ ...txs[0]!, blockNumber: "12" }) },
      { key: "k3", value: null },
    ];
    await producer.send({
      topic: topics.transfers,
      messages: [...txs.slice(0, 20).map((t) => ({ key: t.from, value: JSON.stringify(t) })), ...poison],
    });
    await producer.send({
      topic: topics.transfers,
      messages: txs.slice(20).map((t) => ({ key: t.from, value: JSON.stringify(t) })),
    });
    await producer.disconnect();
    await startScoreStage(scoreEnv(topics));
    await waitCommittedToEnd(topics.transfers, topics.group);

    const v = validators();
    const input = await readTopic(topics.transfers, txs.length + poison.length);
    const wellFormed = input.filter((r) => r.value !== null && !poison.some((p) => p.key === r.key));
    expect(wellFormed).toHaveLength(txs.length);
    for (const r of wellFormed)
      expect(v.get("token-transfer-tx.v1.schema.json")!(JSON.parse(r.value!))).toBe(true);
    for (const p of poison.filter((x) => x.value?.startsWith("{")))
      expect(v.get("token-transfer-tx.v1.schema.json")!(JSON.parse(p.value!))).toBe(false);

    const findings = await readTopic(topics.findings, txs.length, { readCommitted: true });
    expect(findings).toHaveLength(txs.length);
    const validateFinding = v.get("finding.v1.schema.json")!;
    for (const f of findings) {
      const ok = validateFinding(JSON.parse(f.value!));
      expect(ok, JSON.stringify(validateFinding.errors)).toBe(true);
    }
    // the finding contract too accepts exactly what zod accepts, around a real finding
    const rand = rng(1219);
    const disagreements: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const mutated = mutate(JSON.parse(findings[i % findings.length]!.value!), rand);
      if (validateFinding(mutated) !== findingSchema.safeParse(mutated).success && disagreements.length < 3)
        disagreements.push(JSON.stringify(mutated));
    }
    expect(disagreements).toEqual([]);
    const dlq = await readTopic(topics.dlq, poison.length);
    expect(dlq.map((r) => r.key).sort()).toEqual(["k1", "k2", "k3"]);
    const validateDlq = v.get("dlq-record.v1.schema.json")!;
    for (const r of dlq) {
      const ok = validateDlq(JSON.parse(r.value!));
      expect(ok, JSON.stringify(validateDlq.errors)).toBe(true);
    }
  }, 120_000);
});
