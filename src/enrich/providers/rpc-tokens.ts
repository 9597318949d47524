import { createRpcClient, type RpcCall } from "../../rpc/client.js";
import { badAnswer, RpcRevertError } from "../../rpc/errors.js";
import type { TokenMeta, TokenMetadataProvider } from "../types.js";

const SELECTOR = { name: "0x06fdde03", symbol: "0x95d89b41", decimals: "0x313ce567" } as const;
const FIELDS = ["name", "symbol", "decimals"] as const;
const HEX_DATA = /^0x([0-9a-fA-F]{2})*$/;

/**
 * Token metadata from the node: `name()`, `symbol()` and `decimals()` of every address of a
 * group, sent as ONE JSON-RPC batch request. Strings are read as ABI `string` or as `bytes32`
 * (MKR-style). An address whose `decimals()` reverts or answers nothing decodable (an EOA, a
 * contract that is not an ERC-20) gets kind `not-erc20` — an answer, never a crash. Errors that
 * are not about the contract (rate limits, node failures) fail the whole group, retryably.
 * An `eth_call` result is hex data ("0x" for an EOA); any other result (a number, null, an
 * object, a non-hex string) is not "no token": it fails the group with a BadAnswerError
 * (ATT_PROVIDER_BAD_ANSWER, retried, never cached — issue 13).
 */
export function createRpcTokens(opts: {
  url: string;
  timeoutMs: number;
  rateLimitPauseMs: number;
  blockTag?: string;
}): TokenMetadataProvider {
  const rpc = createRpcClient(opts.url, opts);
  return {
    name: "rpc",
    async fetch(addresses, signal) {
      const calls: RpcCall[] = addresses.flatMap((to) =>
        FIELDS.map((f) => ({
          method: "eth_call",
          params: [{ to, data: SELECTOR[f] }, opts.blockTag ?? "latest"],
        })),
      );
      const outcomes = await rpc.batch(calls, signal ? { signal } : {});
      return addresses.map((address, i) => {
        const raw: (string | null)[] = FIELDS.map((_, k) => {
          const o = outcomes[i * 3 + k]!;
          if (o.ok) {
            if (typeof o.result === "string" && HEX_DATA.test(o.result)) return o.result;
            throw badAnswer(`eth_call ${FIELDS[k]}() of ${address}`, {
              url: opts.url,
              got: o.result,
              expected: 'hex data ("0x…", an even number of hex digits; "0x" when there is no code)',
            });
          }
          if (o.error instanceof RpcRevertError) return null;
          throw o.error;
        });
        const decimals = decodeDecimals(raw[2]!);
        const meta: TokenMeta = {
          address,
          kind: decimals === null ? "not-erc20" : "erc20",
          name: decodeString(raw[0]!),
          symbol: decodeString(raw[1]!),
          decimals,
        };
        return meta;
      });
    },
  };
}

function words(hex: string | null): string | null {
  if (!hex || !HEX_DATA.test(hex) || hex.length < 66) return null;
  return hex.slice(2);
}

/** uint8/uint256 `decimals()`; null when absent or not a plausible uint8. */
export function decodeDecimals(hex: string | null): number | null {
  const w = words(hex);
  if (!w) return null;
  const v = BigInt(`0x${w.slice(0, 64)}`);
  return v <= 255n ? Number(v) : null;
}

/** ABI `string` (offset, length, bytes) or `bytes32` padded with zeros; null when undecodable. */
export function decodeString(hex: string | null): string | null {
  const w = words(hex);
  if (!w) return null;
  const bytes = Buffer.from(w, "hex");
  if (bytes.length >= 64) {
    const offset = BigInt(`0x${w.slice(0, 64)}`);
    if (offset + 32n <= BigInt(bytes.length)) {
      const o = Number(offset);
      const len = BigInt(`0x${bytes.subarray(o, o + 32).toString("hex")}`);
      if (len <= BigInt(bytes.length - o - 32)) return utf8(bytes.subarray(o + 32, o + 32 + Number(len)));
    }
  }
  if (bytes.length === 32) {
    let end = 32;
    while (end > 0 && bytes[end - 1] === 0) end--;
    return utf8(bytes.subarray(0, end));
  }
  return null;
}

function utf8(b: Buffer): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(b).replace(/\0+$/, "");
}
