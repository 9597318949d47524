import { describe, expect, it } from "vitest";
import { parseTokenTransferTx, type TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { findingUniqueKey } from "../src/contracts/finding.js";
import { ValidationError } from "../src/kernel/errors.js";

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
});
