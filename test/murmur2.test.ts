import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Partitioners } from "kafkajs";
import { murmur2 } from "../src/kernel/kafka/murmur2.js";
import { createMurmur2Partitioner } from "../src/kernel/kafka/partitioner.js";

const require = createRequire(import.meta.url);
const ORIGINAL = require.resolve("kafkajs/src/producer/partitioners/default/murmur2.js");

/** kafkajs's own murmur2, compiled from its file (independent of the module cache). */
function kafkajsMurmur2(): (key: Buffer | string) => number {
  const m = new Module(`${ORIGINAL}#original`) as Module & {
    _compile(src: string, file: string): void;
    paths: string[];
  };
  m.filename = ORIGINAL;
  m.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(
    dirname(ORIGINAL),
  );
  m._compile(readFileSync(ORIGINAL, "utf8"), ORIGINAL);
  return m.exports as (key: Buffer | string) => number;
}

describe("murmur2 (Kafka's default partitioner hash)", () => {
  it("matches the Java client's test vectors (UtilsTest.testMurmur2)", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, expected] of cases) {
      expect(murmur2(key), key).toBe(expected);
      expect(murmur2(Buffer.from(key)), key).toBe(expected);
    }
  });

  it("agrees with kafkajs's implementation on finding keys, addresses, non-ASCII strings and random bytes", () => {
    const original = kafkajsMurmur2();
    const keys: (string | Buffer)[] = ["", "a", "ab", "abc", "ünïcödé", "日本語のキー", "x".repeat(300)];
    for (let i = 0; i < 2000; i++) {
      keys.push(`0x${randomBytes(32).toString("hex")}`, `0x${randomBytes(20).toString("hex")}`);
      keys.push(randomBytes(i % 97));
    }
    for (const key of keys) expect(murmur2(key), String(key)).toBe(original(key));
  });

  it("gives our producers' partitioner (kafkajs's createPartitioner option) the partitions of kafkajs's default partitioner", () => {
    const ours = createMurmur2Partitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [1, 2, 3, 7, 12, 64]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (let i = 0; i < 500; i++) {
        const key = i % 2 ? `0x${randomBytes(32).toString("hex")}` : randomBytes(i % 41);
        const args = { topic: "t", partitionMetadata, message: { key, value: null } };
        expect(ours(args), `${n} partitions, key ${String(key)}`).toBe(theirs(args));
      }
      const pinned = { topic: "t", partitionMetadata, message: { key: "k", value: null, partition: n - 1 } };
      expect(ours(pinned)).toBe(theirs(pinned));
    }
  });
});
