import { AbiCoder, getCreateAddress, Interface } from "ethers";
import batcherArtifact from "./artifacts/Batcher.json" with { type: "json" };
import tokenArtifact from "./artifacts/TestToken.json" with { type: "json" };

/**
 * The simulator's contracts: copies of test/fixtures/contracts' compiled TestToken (ERC-20 with
 * name/symbol/decimals chosen at deployment and an open `mint`) and Batcher (`mintMany`: several
 * Transfers of several tokens in one transaction). Copied because the production build needs
 * them at run time; test/simulate-generator.test.ts fails if the copies drift from the fixtures.
 */
export const TOKEN_BYTECODE: string = tokenArtifact.bytecode;
export const BATCHER_BYTECODE: string = batcherArtifact.bytecode;

const tokenIface = new Interface(["function mint(address to, uint256 amount)"]);
const batcherIface = new Interface(["function mintMany(address[] tokens, address[] to, uint256[] amounts)"]);
const coder = AbiCoder.defaultAbiCoder();

export function tokenDeployData(name: string, symbol: string, decimals: number): string {
  return TOKEN_BYTECODE + coder.encode(["string", "string", "uint8"], [name, symbol, decimals]).slice(2);
}

export function mintData(to: string, amount: bigint): string {
  return tokenIface.encodeFunctionData("mint", [to, amount]);
}

export function mintManyData(tokens: string[], to: string[], amounts: bigint[]): string {
  return batcherIface.encodeFunctionData("mintMany", [tokens, to, amounts]);
}

/** Address of the contract `from` creates with its transaction number `nonce`. */
export function createAddress(from: string, nonce: number): string {
  return getCreateAddress({ from, nonce }).toLowerCase();
}

/**
 * Gas limits with margin (nothing is estimated: estimation is a second round trip per
 * transaction). Measured on anvil: a mint to a new holder ~51k, mintMany ~30k + ~33k per transfer.
 */
export const GAS = {
  deployToken: 1_500_000,
  deployBatcher: 600_000,
  plain: 21_000,
  mint: 90_000,
  mintManyPerTransfer: 60_000,
  mintManyBase: 60_000,
};

/** Raw token amount for `amount` units of a token with `decimals` (amount has at most 3 decimals). */
export function toRaw(amount: number, decimals: number): bigint {
  if (!(amount >= 0) || !Number.isFinite(amount)) throw new RangeError(`invalid token amount ${amount}`);
  if (decimals >= 3) return BigInt(Math.round(amount * 1000)) * 10n ** BigInt(decimals - 3);
  return BigInt(Math.round(amount * 10 ** decimals));
}
