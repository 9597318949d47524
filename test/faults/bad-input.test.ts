import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { cacheKey, encodeValue } from "../../src/enrich/keys.js";
import { Registry } from "../../src/kernel/metrics.js";
import { connectedProducer, readTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { testPrefix, testRedis } from "../helpers/redis.js";
import { scoreEnv } from "../helpers/score-env.js";
import { seedEnrichmentCache, syntheticTxs, TEST_TOKENS } from "../helpers/transfers.js";
import {
  createConfiguredTopic,
  reportFault,
  tallyFindings,
  waitCommittedToEnd,
  startScoreStage,
} from "./harness.js";

/**
 * Hostile input on one partition, with small topic limits so that "too large" happens at test
 * sizes: the DLQ takes records of at most 64 KiB, findings 32 KiB, inputs above 2 MiB are not
 * parsed. Every bad message must end in the DLQ with its reason, every good one (those behind
 * each bad one included) with exactly one finding, and the partition must be committed to its end.
 */

const DLQ_LIMIT = 64 * 1024;
const FINDINGS_LIMIT = 32 * 1024;
const INPUT_CAP = 2 * 1024 * 1024;

interface DlqRec {
  error: { code: string; message: string };
  source: { offset: string };
  valueBase64: string | null;
  valueSize?: number;
  valueSha256?: string;
  valueTruncated?: true;
}

/** `n` bytes that are not JSON (a repeated letter after an opening brace). */
const notJson = (n: number) => `{${"x".repeat(n - 1)}`;

function nested(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

describe("fault: hostile input never stops a partition", () => {
  it("dead-letters every kind of bad message with its reason, sized to the DLQ's limit, and scores everything behind them once", async () => {
    const transfers = await createConfiguredTopic("fault-input-transfers", 1, {
      "max.message.bytes": String(4 << 20),
    });
    const findings = await createConfiguredTopic("fault-input-findings", 1, {
      "max.message.bytes": String(FINDINGS_LIMIT),
    });
    const dlq = await createConfiguredTopic("fault-input-dlq", 1, { "max.message.bytes": String(DLQ_LIMIT) });
    const group = uniqueName("fault-input");
    const prefix = testPrefix("fault-input");

    const good = syntheticTxs(120, { seed: 131 });
    const redis = testRedis();
    await seedEnrichmentCache(redis, prefix, good);
    // A transaction with 10,000 transfers of the test tokens (~1.7 MB of input): a valid message, scored.
    const base = good[0]!;
    const big: TokenTransferTx = {
      ...base,
      txHash: `0x${"b1".repeat(32)}`,
      transfers: Array.from({ length: 10_000 }, (_, i) => ({
        logIndex: i,
        token: TEST_TOKENS[i % TEST_TOKENS.length]!.address,
        from: base.from,
        to: base.from,
        value: String(1 + i),
      })),
    };
    // 1,500 distinct tokens: its finding's token_types (~33 KB) does not fit the findings topic; it is shrunk.
    const manyTokens = Array.from({ length: 1500 }, (_, i) => ({
      address: `0x${(0xfeed0000 + i).toString(16).padStart(40, "0")}`,
      kind: "erc20" as const,
      symbol: `WIDE-TOKEN-${i}`,
      name: `Wide token ${i}`,
      decimals: 18,
    }));
    const pipe = redis.pipeline();
    for (const t of manyTokens) pipe.set(cacheKey(prefix, "token", 1, t.address), encodeValue("token", t));
    await pipe.exec();
    const wide: TokenTransferTx = {
      ...base,
      txHash: `0x${"c1".repeat(32)}`,
      transfers: manyTokens.map((t, i) => ({
        logIndex: i,
        token: t.address,
        from: base.from,
        to: base.from,
        value: "1",
      })),
    };
    // Above the input cap: valid JSON (17,000 transfers, ~3 MB), never parsed.
    const huge: TokenTransferTx = {
      ...big,
      txHash: `0x${"d1".repeat(32)}`,
      transfers: Array.from({ length: 17_000 }, (_, i) => ({ ...big.transfers[i % 10_000]!, logIndex: i })),
    };

    const withField = (patch: Record<string, unknown>, drop?: string) => {
      const o: Record<string, unknown> = {
        ...good[1]!,
        txHash: `0x${createHash("sha256")
          .update(JSON.stringify(patch) + drop)
          .digest("hex")}`,
        ...patch,
      };
      if (drop) delete o[drop];
      return JSON.stringify(o);
    };
    // [label, value, expected DLQ code]; each is followed by good messages on the same partition.
    const bad: [string, string | null, string][] = [
      ["non-JSON", "not json{", "ATT_INVALID_JSON"],
      ["empty value", "", "ATT_INVALID_JSON"],
      ["null value", null, "ATT_INVALID_MESSAGE"],
      ["missing field", withField({}, "txHash"), "ATT_INVALID_MESSAGE"],
      ["mistyped field", withField({ blockNumber: "12" }), "ATT_INVALID_MESSAGE"],
      [
        "exponent in a value",
        withField({ transfers: [{ ...good[1]!.transfers[0]!, value: "1e3" }] }),
        "ATT_INVALID_MESSAGE",
      ],
      ["negative number", withField({ blockNumber: -1 }), "ATT_INVALID_MESSAGE"],
      ["deeply nested", nested(200_000), "ATT_INVALID_MESSAGE"],
      ["another chain", withField({ chainId: 5 }), "ATT_CHAIN_MISMATCH"],
      ["1 MiB of garbage", notJson(1 << 20), "ATT_INVALID_JSON"],
      ["above the input cap", JSON.stringify(huge), "ATT_INPUT_TOO_LARGE"],
    ];
    // Around the DLQ limit: base64 makes 4 bytes of 3, so these straddle "fits whole" and "truncated".
    for (let size = 46_500; size <= 50_500; size += 500)
      bad.push([`${size} B of garbage (DLQ limit ${DLQ_LIMIT})`, notJson(size), "ATT_INVALID_JSON"]);

    const messages: { key: string; value: string | null }[] = [];
    const goodQueue = [...good];
    const takeGood = (k: number) => {
      for (const tx of goodQueue.splice(0, k)) messages.push({ key: tx.from, value: JSON.stringify(tx) });
    };
    takeGood(5);
    // A duplicate right behind its original (same batch): one finding.
    messages.push({ key: good[4]!.from, value: JSON.stringify(good[4]!) });
    for (const [, value] of bad) {
      messages.push({ key: "bad", value });
      takeGood(5);
    }
    messages.push({ key: big.from, value: JSON.stringify(big) });
    messages.push({ key: wide.from, value: JSON.stringify(wide) });
    takeGood(goodQueue.length);
    const producer = await connectedProducer();
    // One message per request: the large ones must not share a request with the rest.
    for (const m of messages) await producer.send({ topic: transfers, messages: [{ ...m, partition: 0 }] });

    const env = scoreEnv({
      transfers,
      findings,
      dlq,
      group,
      prefix,
      extra: { ATT_SCORE_MAX_MESSAGE_BYTES: String(INPUT_CAP), ATT_SCORE_BATCH_MAX: "40" },
    });
    const registry = new Registry();
    const t0 = Date.now();
    const stage = await startScoreStage(env, { registry, level: "error" });
    await waitCommittedToEnd(transfers, group, 120_000);
    const sec = (Date.now() - t0) / 1000;

    const dead = await readTopic(dlq, bad.length, { timeoutMs: 30_000 });
    const recs = dead.map((d) => JSON.parse(d.value!) as DlqRec);
    expect(recs.map((r) => r.error.code)).toEqual(bad.map(([, , code]) => code));
    for (const [i, d] of dead.entries()) {
      expect(Buffer.byteLength(d.value!)).toBeLessThanOrEqual(DLQ_LIMIT);
      const original = bad[i]![1];
      const rec = recs[i]!;
      if (original === null) {
        expect(rec.valueBase64).toBeNull();
        continue;
      }
      const bytes = Buffer.from(original);
      expect(rec.valueSize).toBe(bytes.length);
      const kept = Buffer.from(rec.valueBase64!, "base64");
      if (rec.valueTruncated) {
        // A prefix of the original, and the hash of the whole.
        expect(kept.length).toBeLessThan(bytes.length);
        expect(bytes.subarray(0, kept.length).equals(kept)).toBe(true);
        expect(rec.valueSha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      } else expect(kept.equals(bytes)).toBe(true);
    }
    // Both sides of the limit were exercised.
    expect(recs.some((r) => r.valueTruncated)).toBe(true);
    expect(recs.filter((r) => !r.valueTruncated && (r.valueSize ?? 0) > 40_000).length).toBeGreaterThan(0);

    const out = await readTopic(findings, Infinity, { timeoutMs: 30_000, idleMs: 3000 });
    const expected = [...good.map((t) => t.txHash), big.txHash, wide.txHash];
    const t = tallyFindings(out, expected);
    expect(t.missing).toEqual([]);
    expect(t.unexpected).toEqual([]);
    expect(t.duplicates).toBe(0);
    for (const f of out) expect(Buffer.byteLength(f.value!)).toBeLessThanOrEqual(FINDINGS_LIMIT);
    const wideFinding = t.byHash.get(wide.txHash)!;
    expect(JSON.parse(wideFinding.metadata.truncated_fields!)).toContain("token_types");
    expect(wideFinding.metadata.model_version).toBe(stage.model.version);
    expect(t.byHash.get(big.txHash)!.alertId).not.toBe("INVALID-TOKEN-TRANSFERS-TX");

    const dlqMetric = await registry.getSingleMetricAsString("att_score_dlq_total");
    expect(dlqMetric).toContain('code="ATT_CHAIN_MISMATCH"');
    expect(await registry.getSingleMetricAsString("att_score_duplicates_total")).toContain(
      "att_score_duplicates_total 1",
    );
    reportFault({
      case: "bad inputs (non-JSON, empty, null, missing/mistyped/1e3/negative fields, nested, other chain, 46–50 KB and 1 MiB garbage, 3 MB over the cap, 10,000 transfers, 1,500 tokens, a duplicate)",
      n: messages.length,
      findings: t.findings,
      duplicates: t.duplicates,
      missing: t.missing.length,
      dlq: dead.length,
      countedBy: "kafkajs",
      note: `partition committed to its end in ${sec.toFixed(1)} s`,
    });
  });
});
