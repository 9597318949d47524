/** A JSON-RPC quantity: `toHex(26)` → "0x1a" (no leading zeros, as the spec requires). */
export const toHex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** A JSON-RPC quantity ("0x1a"; leading zeros tolerated) as a safe integer, or null for any other value. */
export function parseQuantity(v: unknown): number | null {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(v)) return null;
  const n = Number(BigInt(v));
  return Number.isSafeInteger(n) ? n : null;
}
