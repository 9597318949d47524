/**
 * Python float arithmetic the ATT bot relied on, reproduced bit for bit:
 * `round(value / (10 ** int(decimals)), 3)` with `value` a Python int.
 *
 * - `int / int` in Python is correctly rounded to the nearest double; the exact decimal
 *   string "123.456789" parsed by `Number()` (correctly rounded in V8) is the same double.
 * - `round(x, 3)` rounds the exact binary value of x half-to-even and returns the nearest
 *   double to that decimal. `toFixed(3)` also works on the exact value but breaks ties upwards;
 *   ties happen only when x * 16 is an odd integer (x = j/16), and are redone half-to-even.
 */

/** `value / 10**decimals` as Python computes it for ints (correctly rounded). */
export function scaledValue(value: string, decimals: number): number {
  if (decimals === 0) return Number(value);
  const digits = value.length > decimals ? value : value.padStart(decimals + 1, "0");
  const cut = digits.length - decimals;
  return Number(`${digits.slice(0, cut)}.${digits.slice(cut)}`);
}

const TWO_POW_52 = 2 ** 52;

/** Python's `round(x, 3)` for finite x >= 0. */
export function pyRound3(x: number): number {
  if (!Number.isFinite(x) || x >= TWO_POW_52) return x; // doubles >= 2^52 are integers already
  const sixteenths = x * 16; // exact: multiplication by a power of two
  if (Number.isInteger(sixteenths) && sixteenths % 2 === 1) {
    // x * 1000 = 125 * j / 2 with j odd: exactly halfway between two integers.
    const twice = 125n * BigInt(sixteenths);
    const low = (twice - 1n) / 2n;
    const n = low % 2n === 0n ? low : low + 1n;
    return Number(`${n / 1000n}.${(n % 1000n).toString().padStart(3, "0")}`);
  }
  return Number(x.toFixed(3));
}

/** The bot's per-transfer normalized value: `round(value / 10**decimals, 3)`. */
export function normalizedTransferValue(value: string, decimals: number): number {
  return pyRound3(scaledValue(value, decimals));
}

/** Python's default string ordering (by code point), used for `sorted(token_types)`. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}
