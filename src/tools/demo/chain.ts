import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../kernel/logger.js";
import { sleep } from "../../kernel/shutdown.js";
import { SimulateError } from "../simulate/errors.js";
import { createRpcClient } from "../../rpc/client.js";
import { freePort } from "../../kernel/net.js";
import { startProcess, type ManagedProcess } from "./processes.js";

/** The node the demo runs on. */
export interface DemoChain {
  httpUrl: string;
  wsUrl: string;
  chainId: number;
  /** A private anvil the demo started (and stops), or the node it was given / found. */
  owned: boolean;
  reason: string;
  process?: ManagedProcess;
}

const YEAR_S = 365.25 * 86_400;

export function anvilBinary(): string {
  if (process.env.ATT_ANVIL_BIN) return process.env.ATT_ANVIL_BIN;
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const platform = process.platform === "darwin" ? "darwin" : "linux";
  return fileURLToPath(
    new URL(`../../../node_modules/@foundry-rs/anvil-${platform}-${arch}/bin/anvil`, import.meta.url),
  );
}

/** Timestamp of the node's latest block (undefined: no anvil there). */
async function headTime(httpUrl: string): Promise<number | undefined> {
  try {
    const rpc = createRpcClient(httpUrl, { timeoutMs: 2000 });
    const b = await rpc.call<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    await rpc.call("anvil_nodeInfo");
    return Number(b.timestamp);
  } catch {
    return undefined;
  }
}

/**
 * Picks the node: `--rpc` if given; else the local stack's anvil if its chain is still far
 * enough in the past for realistic account ages (started with ATT_ANVIL_ARGS="--timestamp …"
 * and not yet brought to the present by an earlier run: back-dating needs the head in the
 * past); else a private anvil on a free port with its genesis `maxAgeYears` back and a block
 * a second.
 */
export async function acquireChain(opts: {
  rpcUrl?: string;
  stackHttpUrl: string;
  maxAgeYears: number;
  logFile: string;
  logger: Logger;
}): Promise<DemoChain> {
  const wsOf = (http: string) => http.replace(/^http/, "ws");
  const latestHeadAllowed = Math.floor(Date.now() / 1000 - opts.maxAgeYears * YEAR_S);
  if (opts.rpcUrl) {
    const chainId = await chainIdOf(opts.rpcUrl);
    return { httpUrl: opts.rpcUrl, wsUrl: wsOf(opts.rpcUrl), chainId, owned: false, reason: "--rpc" };
  }
  const stackHead = await headTime(opts.stackHttpUrl);
  if (stackHead !== undefined && stackHead <= latestHeadAllowed) {
    const chainId = await chainIdOf(opts.stackHttpUrl);
    return {
      httpUrl: opts.stackHttpUrl,
      wsUrl: wsOf(opts.stackHttpUrl),
      chainId,
      owned: false,
      reason: "the local stack's anvil (its chain is still in the past)",
    };
  }
  const bin = anvilBinary();
  if (!existsSync(bin)) {
    throw new SimulateError("anvil not found", {
      code: "ATT_DEMO_NO_ANVIL",
      details: [
        `Looked for: ${bin}`,
        "Fix: npm ci (anvil comes with the @foundry-rs/anvil devDependency), or set ATT_ANVIL_BIN.",
      ],
    });
  }
  const port = await freePort();
  const genesis = Math.floor(Date.now() / 1000 - (opts.maxAgeYears + 0.25) * YEAR_S);
  const proc = startProcess({
    name: "anvil",
    command: bin,
    args: [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--chain-id",
      "31337",
      "--timestamp",
      String(genesis),
      "--block-time",
      "1",
      "--silent",
    ],
    logFile: opts.logFile,
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await headTime(httpUrl)) === undefined) {
    if (!proc.running() || Date.now() > deadline) {
      await proc.stop(2000);
      throw new SimulateError("The demo's anvil did not start", {
        code: "ATT_DEMO_NO_ANVIL",
        details: [`Log: ${opts.logFile}`],
      });
    }
    await sleep(100);
  }
  opts.logger.info({ msg: "Private anvil started", url: httpUrl, pid: proc.pid, genesis });
  return {
    httpUrl,
    wsUrl: wsOf(httpUrl),
    chainId: 31337,
    owned: true,
    reason:
      stackHead === undefined
        ? "no anvil at the stack's address"
        : "the stack's anvil is at the present time: too late to back-date account ages",
    process: proc,
  };
}

async function chainIdOf(url: string): Promise<number> {
  return Number(await createRpcClient(url, { timeoutMs: 5000 }).call<string>("eth_chainId"));
}
