import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crc32c, kafkajsCrcReplaced } from "../src/kernel/kafka/crc32c.js";

const require = createRequire(import.meta.url);
// kafkajs's own byte-at-a-time implementation (the module file itself, not the replaced index).
const kafkajsCrc = require("kafkajs/src/protocol/recordBatch/crc32C/crc32C.js") as (b: Buffer) => number;

describe("CRC-32C", () => {
  it("gives the standard check value and RFC 3720 test vectors", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it("agrees with kafkajs's implementation on random buffers of every length up to 300 and some large ones", () => {
    for (let len = 0; len <= 300; len++) {
      const b = randomBytes(len);
      expect(crc32c(b), `length ${len}`).toBe(kafkajsCrc(b) >>> 0);
    }
    for (const len of [4096, 65_537, 1_048_583]) {
      const b = randomBytes(len);
      expect(crc32c(b)).toBe(kafkajsCrc(b) >>> 0);
      // A view into a larger buffer (kafkajs checksums a slice of its encoder's buffer).
      const view = b.subarray(3, len - 5);
      expect(crc32c(view)).toBe(kafkajsCrc(view) >>> 0);
    }
  });

  it("is the checksum kafkajs uses once src/kernel/kafka/patches.ts is loaded", () => {
    expect(kafkajsCrcReplaced()).toBe(true);
    const index = require("kafkajs/src/protocol/recordBatch/crc32C/index.js") as (b: Buffer) => number;
    expect(index).toBe(crc32c);
  });
});
