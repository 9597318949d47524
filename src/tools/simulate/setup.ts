import type { Logger } from "../../kernel/logger.js";
import { SimulateError } from "./errors.js";
import { BATCHER_BYTECODE, createAddress, GAS, tokenDeployData } from "./contracts.js";
import type { SimAccount } from "./accounts.js";
import { resultOf, type HttpRpcClient as RpcClient } from "../../rpc/client.js";
import { rpcCodeOf } from "../../rpc/errors.js";
import { toHex } from "../../rpc/hex.js";
import type { TokenSpec } from "./tokens.js";

export interface DeployedToken extends TokenSpec {
  address: string;
}

export interface ChainSetup {
  chainId: number;
  tokens: DeployedToken[];
  batcher: string;
  /** Accounts whose first transaction was back-dated (sorted by address order of creation). */
  accounts: SimAccount[];
  /** Block number of the last setup block: traffic comes after it. */
  lastSetupBlock: number;
  /** Chain time (unix s) when traffic may start. */
  startedAt: number;
  /** Accounts whose first transaction could not go back as far as planned (chain too young). */
  clamped: number;
  /** Oldest age (minutes) the chain could give. */
  maxAvailableAgeMinutes: number;
  setupMs: number;
}

/** Wei every simulated account gets (anvil_setBalance: not a transaction). */
export const ACCOUNT_BALANCE = 10n ** 24n;
/** Fees high enough for any anvil base fee; the balances are fake anyway. */
export const FEES = { maxFeePerGas: toHex(200n * 10n ** 9n), maxPriorityFeePerGas: toHex(10n ** 9n) };

interface MiningMode {
  automine: boolean;
  interval: number;
}

interface Block {
  number: string;
  timestamp: string;
  transactions: string[];
}

/**
 * Prepares a node (anvil) for traffic: deploys one ERC-20 per token with its real decimals and
 * the batcher, then gives every account its first transaction at its planned time in the past
 * (now - age), in chronological order, one block per group of accounts whose times are close
 * (`evm_mine` with a timestamp), and finally mines a block at the present time. The feature
 * `account_active_period_in_minutes` (tx time - first tx time, found by the enrichment with
 * `ots_searchTransactionsAfter`) then comes out as planned. Mining is paused during the warp
 * and restored afterwards. Accounts send through anvil's impersonation (no keys).
 */
export async function prepareChain(opts: {
  rpc: RpcClient;
  tokens: readonly TokenSpec[];
  accounts: SimAccount[];
  deployer: string;
  logger: Logger;
  /** Wall clock, unix seconds (tests pass a fixed one). */
  now?: () => number;
}): Promise<ChainSetup> {
  const t0 = Date.now();
  const { rpc, logger } = opts;
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const chainId = Number(await rpc.call<string>("eth_chainId"));
  await requireAnvil(rpc);
  await requireUnusedSeed(rpc, opts.deployer);
  await rpc.call("anvil_autoImpersonateAccount", [true]);
  const mode = await pauseMining(rpc);
  try {
    const head = await rpc.call<Block>("eth_getBlockByNumber", ["latest", false]);
    let chainTime = Number(head.timestamp);
    const wall = now();
    const maxAvailableAgeMinutes = Math.max(0, (wall - chainTime - 2) / 60);

    // Planned first-transaction times, oldest first; the chain cannot go back before its head.
    const planned = opts.accounts
      .map((a) => ({ a, at: wall - Math.round(a.plannedAgeMinutes * 60) }))
      .sort((x, y) => x.at - y.at);
    let clamped = 0;
    const deployAt = Math.max(chainTime + 1, (planned[0]?.at ?? wall) - 60);

    // 1. contracts, in one block
    await setBalances(rpc, [opts.deployer]);
    let nonce = Number(await rpc.call<string>("eth_getTransactionCount", [opts.deployer, "latest"]));
    const deploys = [
      ...opts.tokens.map((t) => ({
        data: tokenDeployData(t.name, t.symbol, t.decimals),
        gas: GAS.deployToken,
      })),
      { data: BATCHER_BYTECODE, gas: GAS.deployBatcher },
    ];
    const addresses = deploys.map((_, i) => createAddress(opts.deployer, nonce + i));
    const hashes = await sendAll(
      rpc,
      deploys.map((d) => ({
        from: opts.deployer,
        data: d.data,
        gas: toHex(d.gas),
        nonce: toHex(nonce++),
        ...FEES,
      })),
    );
    chainTime = await mineAt(rpc, deployAt);
    // More contracts than one block's gas limit holds spill into the next blocks.
    for (let extra = 0; extra < 20 && (await unmined(rpc, hashes)) > 0; extra++) {
      chainTime = await mineAt(rpc, chainTime + 1);
    }
    await requireSuccess(rpc, hashes, "contract deployment");
    const tokens = opts.tokens.map((t, i) => ({ ...t, address: addresses[i]! }));
    const batcher = addresses[addresses.length - 1]!;

    // 2. first transactions, back-dated: one block per group of close planned times
    await setBalances(
      rpc,
      opts.accounts.map((a) => a.address),
    );
    let group: SimAccount[] = [];
    let groupAt = 0;
    let blocks = 0;
    const flush = async () => {
      if (group.length === 0) return;
      const at = Math.max(groupAt, chainTime + 1);
      const txHashes = await sendAll(
        rpc,
        group.map((a) => ({
          from: a.address,
          to: a.address,
          value: "0x0",
          gas: toHex(GAS.plain),
          nonce: toHex(a.nonce),
          ...FEES,
        })),
      );
      chainTime = await mineAt(rpc, at);
      await requireSuccess(rpc, txHashes.slice(0, 1), "first transaction");
      for (const a of group) {
        a.firstTxAt = chainTime;
        a.nonce += 1;
      }
      blocks += 1;
      group = [];
    };
    for (const { a, at } of planned) {
      if (at <= chainTime) clamped += 1;
      const target = Math.max(at, chainTime + 1);
      // a new block once the planned time moves on by more than 0.2 % of the age (>= 1 s)
      if (
        group.length > 0 &&
        (target - groupAt > Math.max(1, 0.002 * (wall - groupAt)) || group.length >= 1000)
      ) {
        await flush();
      }
      if (group.length === 0) groupAt = Math.max(target, chainTime + 1);
      group.push(a);
    }
    await flush();

    // 3. back to the present
    if (wall > chainTime) chainTime = await mineAt(rpc, Math.max(now(), chainTime + 1));
    const last = await rpc.call<Block>("eth_getBlockByNumber", ["latest", false]);
    if (clamped > 0) {
      logger.warn({
        msg: "Chain too young for the planned account ages: some accounts are younger than planned",
        clamped_accounts: clamped,
        max_available_age_minutes: Math.round(maxAvailableAgeMinutes),
        fix: "start anvil with --timestamp <unix time years ago> (ATT_ANVIL_ARGS for deploy/local/stack.sh), or use att demo",
      });
    }
    logger.info({
      msg: "Simulation chain ready",
      chain_id: chainId,
      tokens: tokens.length,
      accounts: opts.accounts.length,
      funding_blocks: blocks,
      last_setup_block: Number(last.number),
      setup_ms: Date.now() - t0,
    });
    return {
      chainId,
      tokens,
      batcher,
      accounts: opts.accounts,
      lastSetupBlock: Number(last.number),
      startedAt: Number(last.timestamp),
      clamped,
      maxAvailableAgeMinutes,
      setupMs: Date.now() - t0,
    };
  } finally {
    await restoreMining(rpc, mode);
  }
}

async function requireAnvil(rpc: RpcClient): Promise<void> {
  try {
    await rpc.call("anvil_nodeInfo");
  } catch (err) {
    // Any error object the node answered (geth: -32601, a proxy: -32600 "method not allowed").
    if (rpcCodeOf(err) !== undefined) {
      throw new SimulateError("The simulator needs an anvil node (anvil_* and evm_* methods)", {
        code: "ATT_SIMULATE_NOT_ANVIL",
        cause: err,
        details: [
          `URL: ${rpc.endpoint}`,
          "Fix: point --rpc (or ATT_RPC_HTTP_URL) at anvil, e.g. deploy/local/stack.sh start anvil",
        ],
      });
    }
    throw err;
  }
}

/**
 * The seed fixes every address (deployer, senders), so a second run with the same seed on the
 * same node finds its accounts already used and would fail mid-setup on "nonce too low".
 */
async function requireUnusedSeed(rpc: RpcClient, deployer: string): Promise<void> {
  const sent = Number(await rpc.call<string>("eth_getTransactionCount", [deployer, "latest"]));
  if (sent > 0) {
    throw new SimulateError("This node already ran the simulator with the same seed", {
      code: "ATT_SIMULATE_SEED_USED",
      details: [
        `URL: ${rpc.endpoint}`,
        `Got: deployer ${deployer} has already sent ${sent} transactions`,
        "Fix: pass another --seed (ATT_SIMULATE_SEED), or leave it out for a random one, or use a fresh node",
      ],
    });
  }
}

async function pauseMining(rpc: RpcClient): Promise<MiningMode> {
  const automine = await rpc.call<boolean>("anvil_getAutomine");
  const interval = Number((await rpc.call<number | null>("anvil_getIntervalMining")) ?? 0);
  await rpc.call("evm_setIntervalMining", [0]);
  await rpc.call("evm_setAutomine", [false]);
  return { automine, interval };
}

async function restoreMining(rpc: RpcClient, mode: MiningMode): Promise<void> {
  if (mode.interval > 0) await rpc.call("evm_setIntervalMining", [mode.interval]);
  if (mode.automine) await rpc.call("evm_setAutomine", [true]);
}

/** Mines one block at exactly `timestamp` with everything pending; returns the timestamp. */
async function mineAt(rpc: RpcClient, timestamp: number): Promise<number> {
  await rpc.call("evm_mine", [{ timestamp }]);
  return timestamp;
}

export async function setBalances(rpc: RpcClient, addresses: readonly string[]): Promise<void> {
  for (let i = 0; i < addresses.length; i += 500) {
    const res = await rpc.batch(
      addresses
        .slice(i, i + 500)
        .map((a) => ({ method: "anvil_setBalance", params: [a, toHex(ACCOUNT_BALANCE)] })),
    );
    for (const r of res) if (!r.ok) throw r.error;
  }
}

/** Sends transactions in batches of 500; throws on the first rejected one. */
async function sendAll(rpc: RpcClient, txs: readonly Record<string, string>[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < txs.length; i += 500) {
    const res = await rpc.batch(
      txs.slice(i, i + 500).map((tx) => ({ method: "eth_sendTransaction", params: [tx] })),
    );
    for (const r of res) out.push(resultOf(r) as string);
  }
  return out;
}

async function unmined(rpc: RpcClient, hashes: readonly string[]): Promise<number> {
  const receipts = await rpc.batch(hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })));
  return receipts.filter((r) => r.ok && r.result === null).length;
}

async function requireSuccess(rpc: RpcClient, hashes: readonly string[], what: string): Promise<void> {
  const receipts = await rpc.batch(hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })));
  receipts.forEach((r, i) => {
    const status = r.ok && r.result ? (r.result as { status?: string }).status : undefined;
    if (status !== "0x1") {
      throw new SimulateError(`Simulator ${what} failed on chain`, {
        code: "ATT_SIMULATE_SETUP_FAILED",
        details: [
          `Transaction: ${hashes[i]}`,
          `Receipt: ${r.ok ? JSON.stringify(r.result) : r.error.message}`,
        ],
      });
    }
  });
}
