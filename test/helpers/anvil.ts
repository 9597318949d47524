import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { freePort } from "../../src/kernel/net.js";

export { freePort };

const ANVIL_BIN = fileURLToPath(
  new URL("../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil", import.meta.url),
);

export interface TestAnvil {
  httpUrl: string;
  wsUrl: string;
  port: number;
  process: ChildProcess;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Starts a private anvil (real node, own port) for one test file, so that parallel test files
 * never revert each other's chain. Extra args e.g. ["--block-time", "1"].
 */
/**
 * Polls for a transaction's receipt (null after `timeoutMs`). anvil answers eth_sendTransaction
 * before its automine has sealed the block, so a test that sets the next block's timestamp right
 * after a send must wait for the receipt first, or a loaded machine mines the send late.
 */
export async function waitForReceipt<T = unknown>(
  anvil: Pick<TestAnvil, "rpc">,
  hash: string,
  timeoutMs = 10_000,
): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await anvil.rpc<T | null>("eth_getTransactionReceipt", [hash]);
    if (receipt || Date.now() >= deadline) return receipt;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startAnvil(args: string[] = []): Promise<TestAnvil> {
  const port = await freePort();
  const child = spawn(ANVIL_BIN, ["--host", "127.0.0.1", "--port", String(port), "--silent", ...args], {
    stdio: "ignore",
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await jsonRpc(httpUrl, "eth_chainId");
      break;
    } catch {
      if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error("anvil did not answer within 20 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    process: child,
    rpc: (method, params) => jsonRpc(httpUrl, method, params),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * One anvil for the calling test file, with an `evm_snapshot` before each test and an
 * `evm_revert` after it, so every test starts from the same chain state.
 */
export function useAnvil(args: string[] = []): { get: () => TestAnvil } {
  let anvil: TestAnvil | undefined;
  let snapshot: string | undefined;
  beforeAll(async () => {
    anvil = await startAnvil(args);
  });
  afterAll(async () => {
    await anvil?.stop();
  });
  beforeEach(async () => {
    snapshot = await anvil!.rpc<string>("evm_snapshot");
  });
  afterEach(async () => {
    if (snapshot) await anvil!.rpc("evm_revert", [snapshot]);
  });
  return {
    get: () => {
      if (!anvil) throw new Error("useAnvil(): anvil not started yet (call get() inside a test or hook)");
      return anvil;
    },
  };
}
