import { userInfo } from "node:os";
import { ADDRESS_RE, HASH32_RE } from "../../contracts/token-transfer-tx.js";
import { ValidationError } from "../../kernel/errors.js";

/** A refused argument of `att verdict` / `att allowlist`: exit 1 with Got / Expected / Fix. */
export function argumentError(what: string, got: string, expected: string, fix: string): ValidationError {
  return new ValidationError(`Invalid ${what}`, {
    code: "ATT_INVALID_ARGUMENT",
    details: [`Got: ${got}`, `Expected: ${expected}`, `Fix: ${fix}`],
  });
}

/** A 32-byte transaction hash, any case on input, lower-case as the contracts store it. */
export function parseTxHash(raw: string): string {
  const h = raw.trim().toLowerCase();
  if (!HASH32_RE.test(h))
    throw argumentError(
      "transaction hash",
      JSON.stringify(raw),
      "a 32-byte hash: 0x and 64 hex digits",
      "pass the hash of the transaction the finding names (source.transactions[0].hash).",
    );
  return h;
}

/** A 20-byte address, any case on input (EIP-55 checksums too), lower-case as stored. */
export function parseAddress(raw: string): string {
  const a = raw.trim().toLowerCase();
  if (!ADDRESS_RE.test(a))
    throw argumentError(
      "address",
      JSON.stringify(raw),
      "a 20-byte address: 0x and 40 hex digits",
      "pass the sender (a finding's metadata.from) or the contract a transaction calls.",
    );
  return a;
}

/** --chain-id, else the configured chain (ATT_CHAIN_ID). */
export function parseChainId(raw: string | undefined, configured: number): number {
  if (raw === undefined) return configured;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw argumentError(
      "--chain-id",
      JSON.stringify(raw),
      "a positive integer",
      "e.g. --chain-id 1 (mainnet).",
    );
  return n;
}

/** Who is acting: --by, else the login name. */
export function actor(raw: string | undefined): string {
  const who = (raw ?? process.env.USER ?? safeUserName() ?? "").trim();
  if (who === "" || who.length > 200)
    throw argumentError(
      "--by",
      JSON.stringify(raw ?? ""),
      "who gives the label: a user name or e-mail of 1 to 200 characters",
      "pass --by <name>.",
    );
  return who;
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Kafka key of a label: `<chainId>:<txHash>` or `<chainId>:<address>` (docs/contracts.md). */
export const labelKey = (chainId: number, id: string): string => `${chainId}:${id}`;
