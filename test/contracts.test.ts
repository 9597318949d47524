import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  isTokenTransferTx,
  parseTokenTransferTx,
  tokenTransferTxSchema,
  type TokenTransferTx,
} from "../src/contracts/token-transfer-tx.js";
import { findingUniqueKey, parseFinding } from "../src/contracts/finding.js";
import { ValidationError } from "../src/kernel/errors.js";
import { rng } from "./helpers/rng.js";

const good: TokenTransferTx = {
  v: 1,
  chainId: 1,
  blockNumber: 17173049,
  blockHash: `0x${"ab".repeat(32)}`,
  blockTimestamp: 1682900000,
  txHash: `0x${"cd".repeat(32)}`,
  txIndex: 3,
  from: `0x${"11".repeat(20)}`,
  to: `0x${"22".repeat(20)}`,
  transfers: [
    {
      logIndex: 7,
      token: `0x${"33".repeat(20)}`,
      from: `0x${"11".repeat(20)}`,
      to: `0x${"44".repeat(20)}`,
      value: ((1n << 256n) - 1n).toString(),
    },
  ],
  observedAt: 1682900001234,
};

function reason(input: unknown): string {
  try {
    parseTokenTransferTx(JSON.stringify(input));
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error("expected a ValidationError");
}

describe("TokenTransferTx v1 parsing", () => {
  it("accepts a valid message and keeps the uint256 value exact", () => {
    const parsed = parseTokenTransferTx(Buffer.from(JSON.stringify(good)));
    expect(parsed.transfers[0]!.value).toBe(
      "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    );
  });

  it("rejects a value given as a JS number, naming the field", () => {
    const msg = reason({ ...good, transfers: [{ ...good.transfers[0], value: 1.5e21 }] });
    expect(msg).toContain("transfers[0].value");
    expect(msg).toContain("(number)");
  });

  it("rejects a value above 2^256 - 1", () => {
    expect(
      reason({ ...good, transfers: [{ ...good.transfers[0], value: (1n << 256n).toString() }] }),
    ).toContain("below 2^256");
  });

  it("rejects an exponent or a sign in a value with a validation error, not a BigInt crash", () => {
    for (const value of ["1e3", "-1", "0x10", "1.0"]) {
      expect(reason({ ...good, transfers: [{ ...good.transfers[0], value }] })).toContain(
        "transfers[0].value: expected the uint256 as a decimal string",
      );
    }
  });

  it("rejects mixed-case addresses", () => {
    expect(reason({ ...good, from: "0xAbCd000000000000000000000000000000000000" })).toContain(
      "from: expected a lower-case",
    );
  });

  it("rejects an unknown schema version and unknown fields", () => {
    expect(reason({ ...good, v: 2 })).toContain("v: expected schema version v = 1");
    expect(reason({ ...good, extra: 1 })).toContain("unexpected field(s) extra");
  });

  it("rejects non-JSON and empty messages", () => {
    expect(() => parseTokenTransferTx("{nope")).toThrow(/not JSON/);
    expect(() => parseTokenTransferTx(null)).toThrow(/tombstone/);
  });

  it("rejects a transaction without transfers", () => {
    expect(reason({ ...good, transfers: [] })).toContain("at least one transfer");
  });
});

describe("TokenTransferTx fast-path check", () => {
  // Values that sit on either side of some rule of the schema.
  const MAX = ((1n << 256n) - 1n).toString();
  const pool: unknown[] = [
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    1.5,
    2 ** 53,
    2 ** 53 - 1,
    1e21,
    "",
    "0",
    "00",
    "01",
    "1e3",
    "-1",
    " 1",
    MAX,
    (1n << 256n).toString(),
    `0${MAX}`,
    "9".repeat(78),
    // 78 characters but not a decimal: must be refused without reaching BigInt().
    `1e${"9".repeat(76)}`,
    "9".repeat(77),
    "1".repeat(79),
    `0x${"ab".repeat(20)}`,
    `0x${"AB".repeat(20)}`,
    `0x${"ab".repeat(19)}`,
    `0x${"ab".repeat(21)}`,
    `0x${"cd".repeat(32)}`,
    `0X${"cd".repeat(32)}`,
    `0x${"cd".repeat(31)}ag`,
    `${"cd".repeat(33)}`,
    [],
    [1],
    {},
    { v: 1 },
    "true",
  ];
  const topKeys = [...Object.keys(good), "removed", "extra", "__proto__", "constructor"];
  const transferKeys = [...Object.keys(good.transfers[0]!), "extra"];

  function mutate(rand: () => number): unknown {
    const msg = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    const transfers = msg.transfers as Record<string, unknown>[];
    if (rand() < 0.3) transfers.push({ ...transfers[0]!, logIndex: 8 });
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const edits = 1 + Math.floor(rand() * 2);
    for (let i = 0; i < edits; i++) {
      const r = rand();
      const target = r < 0.5 ? msg : pick(transfers);
      const key = pick(target === msg ? topKeys : transferKeys);
      if (rand() < 0.15) delete target[key];
      else if (key === "removed" && rand() < 0.5) target[key] = true;
      else target[key] = pick(pool);
    }
    if (rand() < 0.02) return pick(pool);
    // Through JSON, as the parser sees it (a "__proto__" key becomes an own property there).
    return JSON.parse(JSON.stringify(msg).replace('"constructor"', '"__proto__"'));
  }

  it("accepts exactly what the zod schema accepts, on 20,000 mutated messages", () => {
    const rand = rng(20261129);
    let accepted = 0;
    const disagreements: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(rand);
      const fast = isTokenTransferTx(input);
      const zod = tokenTransferTxSchema.safeParse(input).success;
      if (fast) accepted += 1;
      if (fast !== zod && disagreements.length < 5)
        disagreements.push(`fast=${fast} zod=${zod}: ${JSON.stringify(input)}`);
    }
    expect(disagreements).toEqual([]);
    // Both outcomes are exercised, not just rejections.
    expect(accepted).toBeGreaterThan(500);
    expect(accepted).toBeLessThan(19_000);
  });

  it("returns the same object zod would build for a valid message, removed or not", () => {
    for (const msg of [good, { ...good, removed: true as const }, { ...good, to: null }]) {
      const parsed = parseTokenTransferTx(JSON.stringify(msg));
      expect(parsed).toEqual(tokenTransferTxSchema.parse(msg));
    }
  });
});

describe("finding uniqueKey", () => {
  it("is deterministic and depends on model version and alert id", () => {
    const base = {
      chainId: 1,
      txHash: good.txHash,
      alertId: "ANOMALOUS-TOKEN-TRANSFERS-TX",
      modelVersion: "1671000000",
    };
    expect(findingUniqueKey(base)).toBe(findingUniqueKey({ ...base }));
    expect(findingUniqueKey(base)).not.toBe(findingUniqueKey({ ...base, modelVersion: "1671000001" }));
    expect(findingUniqueKey(base)).not.toBe(
      findingUniqueKey({ ...base, alertId: "NORMAL-TOKEN-TRANSFERS-TX" }),
    );
  });

  it("is 0x + sha256 of chainId|txHash|alertId|modelVersion, so keys stay stable across releases", () => {
    const key = findingUniqueKey({
      chainId: 1,
      txHash: good.txHash.toUpperCase().replace("0X", "0x"),
      alertId: "A",
      modelVersion: "7",
    });
    const expected = createHash("sha256").update(`1|${good.txHash}|A|7`).digest("hex");
    expect(key).toBe(`0x${expected}`);
  });
});

describe("Finding parsing", () => {
  const finding = {
    name: "Anomalous Token Transfers",
    description: "test",
    alertId: "ANOMALOUS-TOKEN-TRANSFERS-TX",
    protocol: "ethereum",
    severity: "Critical",
    type: "Suspicious",
    metadata: { anomaly_score: "0.61" },
    addresses: [],
    labels: [],
    uniqueKey: "0xabc",
    source: { chains: [{ chainId: 1 }] },
    timestamp: "2026-11-29T12:00:00.000Z",
  };
  const rejection = (value: unknown): ValidationError => {
    try {
      parseFinding(typeof value === "string" ? value : JSON.stringify(value));
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    }
    throw new Error("parseFinding accepted a bad finding");
  };

  it("accepts a Forta finding as the SDK prints it", () => {
    expect(parseFinding(Buffer.from(JSON.stringify(finding)))).toEqual(finding);
  });

  it("rejects bad input naming the field and what was wrong", () => {
    expect(rejection("{nope").code).toBe("ATT_INVALID_JSON");
    const severity = rejection({ ...finding, severity: "Severe" });
    expect(severity.code).toBe("ATT_INVALID_FINDING");
    expect(severity.path).toBe("severity");
    expect(severity.message).toMatch(/severity/);
    expect(rejection({ ...finding, metadata: { anomaly_score: 0.61 } }).path).toBe("metadata.anomaly_score");
    expect(rejection({ ...finding, timestamp: "yesterday" }).path).toBe("timestamp");
    const { uniqueKey: _omitted, ...noKey } = finding;
    expect(rejection(noKey).path).toBe("uniqueKey");
    expect(rejection({ ...finding, source: { transactions: [{ chainId: 1 }] } }).path).toBe(
      "source.transactions[0].hash",
    );
  });
});
