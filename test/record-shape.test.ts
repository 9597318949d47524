import { describe, expect, it } from "vitest";
import { lastShapeCache, recordFactory } from "../src/kernel/record-shape.js";

const plain = (keys: string[], values: unknown[]) => {
  const out: Record<string, unknown> = {};
  keys.forEach((k, i) => (out[k] = values[i]));
  return out;
};

describe("recordFactory", () => {
  it("builds the same object, keys in the same order, as assigning key by key", () => {
    const keys = ["from", "APE_transfers", "WETH_value", "token_types", "a b", "ünï", "0x1", "z"];
    const values = keys.map((k, i) => `${k}-${i}`);
    const made = recordFactory(keys)(values);
    expect(made).toEqual(plain(keys, values));
    expect(Object.keys(made)).toEqual(Object.keys(plain(keys, values)));
    expect(JSON.stringify(made)).toBe(JSON.stringify(plain(keys, values)));
    expect(Object.getPrototypeOf(made)).toBe(Object.prototype);
  });

  it("keeps keys that could break generated source as plain data", () => {
    const keys = ['a"b', "c\\d", "e\nf", "`${x}`", "}); process.exit(1); ({", "\u2028", "constructor"];
    const values = keys.map((_, i) => String(i));
    expect(recordFactory(keys)(values)).toEqual(plain(keys, values));
  });

  it("falls back to key-by-key building for __proto__ and duplicate keys, as assignment would behave", () => {
    const proto = recordFactory(["__proto__", "x"])(["p", "1"]);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(JSON.stringify(proto)).toBe(JSON.stringify(plain(["__proto__", "x"], ["p", "1"])));
    expect(recordFactory(["a", "b", "a"])(["1", "2", "3"])).toEqual({ a: "3", b: "2" });
  });

  it("carries numbers from a typed array too", () => {
    const made = recordFactory<number>(["x", "y"])(new Float64Array([1.5, -0.25]));
    expect(made).toEqual({ x: 1.5, y: -0.25 });
  });

  it("finds the factory of a new key list, not the previous one, in the last-shape cache", () => {
    const cache = lastShapeCache();
    const a = cache(["a", "b"]);
    expect(cache(["a", "b"])).toBe(a);
    expect(cache(["a", "c"])(["1", "2"])).toEqual({ a: "1", c: "2" });
    expect(cache(["a", "b", "c"])(["1", "2", "3"])).toEqual({ a: "1", b: "2", c: "3" });
  });
});
