/**
 * Objects with many keys known only at run time (a finding's metadata: ~60 keys, the model's
 * features among them) built key by key end up in V8's dictionary mode: measured on the score
 * stage's findings, building and JSON.stringify-ing such an object cost ~14 µs against ~4 µs for
 * an object literal with the same keys. `recordFactory(keys)` compiles that object literal once
 * per key list; keys go into the source JSON-escaped, and a list that a literal cannot express
 * exactly (`__proto__`, duplicates) gets a plain key-by-key builder instead.
 */
export type RecordFactory<T = string> = (values: ArrayLike<T>) => Record<string, T>;

const MAX_SHAPES = 64;
const factories = new Map<string, RecordFactory<unknown>>();

function plainFactory(keys: readonly string[]): RecordFactory<unknown> {
  return (values) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i]!;
    return out;
  };
}

function compile(keys: readonly string[]): RecordFactory<unknown> {
  if (keys.includes("__proto__") || new Set(keys).size !== keys.length) return plainFactory(keys);
  const body = `return {${keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(", ")}};`;
  // Keys enter the source only as JSON string literals.
  return new Function("v", body) as RecordFactory<unknown>;
}

export function recordFactory<T = string>(keys: readonly string[]): RecordFactory<T> {
  const sig = keys.join("\u0000");
  let f = factories.get(sig);
  if (!f) {
    f = compile(keys);
    // Bounded: an unexpected stream of shapes still works, just without the cache.
    if (factories.size < MAX_SHAPES) factories.set(sig, f);
  }
  return f as RecordFactory<T>;
}

/**
 * The factory for the last key list seen, found again without building a signature when the
 * next list holds the same strings (the usual case: one model, one feature order).
 */
export function lastShapeCache<T = string>(): (keys: readonly string[]) => RecordFactory<T> {
  let lastKeys: readonly string[] = [];
  let last: RecordFactory<T> | undefined;
  return (keys) => {
    if (last && keys.length === lastKeys.length) {
      let same = true;
      for (let i = 0; i < keys.length && same; i++) same = keys[i] === lastKeys[i];
      if (same) return last;
    }
    last = recordFactory<T>(keys);
    lastKeys = keys.slice();
    return last;
  };
}
