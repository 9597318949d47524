import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AbiCoder, Interface, id } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/kernel/logger.js";
import { readCard } from "../src/model/load.js";
import { resolveModelDir } from "../src/model/registry.js";
import { marginalsFromCard } from "../src/tools/simulate/card-marginals.js";
import { loadMarginals, type Marginals } from "../src/tools/simulate/marginals.js";
import type { SentTx } from "../src/tools/simulate/sender.js";
import { createSimulator, type Simulator } from "../src/tools/simulate/simulator.js";
import type { ChainSetup } from "../src/tools/simulate/setup.js";
import { resolveTokens } from "../src/tools/simulate/tokens.js";
import { startAnvil, waitForReceipt, type TestAnvil } from "./helpers/anvil.js";
import { SHARED_DATA } from "./helpers/services.js";

const MARGINALS = fileURLToPath(new URL("att-reference/training_marginals.json", SHARED_DATA));
const TRANSFER = id("Transfer(address,address,uint256)");
const YEARS_AGO_8 = Math.floor(Date.now() / 1000) - 8 * 365 * 86_400;
const erc20 = new Interface([
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
]);

interface Receipt {
  status: string;
  from: string;
  blockNumber: string;
  logs: { address: string; topics: string[]; data: string }[];
}

async function marginals(): Promise<Marginals> {
  if (existsSync(MARGINALS)) return loadMarginals(MARGINALS);
  console.warn("simulate: ../shared/data absent, calibrating from the default model card's histograms");
  return marginalsFromCard(await readCard(resolveModelDir("models/registry")))!;
}

describe("traffic simulator on anvil", () => {
  let anvil: TestAnvil;
  let sim: Simulator;
  let setup: ChainSetup;
  let dir: string;
  const sent: SentTx[] = [];

  beforeAll(async () => {
    // A chain whose genesis is 8 years back, mining a block per second like the demo's.
    anvil = await startAnvil(["--timestamp", String(YEARS_AGO_8), "--block-time", "1"]);
    dir = mkdtempSync(join(tmpdir(), "att-simulate-"));
    sim = createSimulator({
      rpcUrl: anvil.httpUrl,
      marginals: await marginals(),
      tokens: resolveTokens({}).tokens,
      seed: 42,
      rate: 40,
      exploitsPerMinute: 60,
      accounts: 120,
      maxAgeMinutes: 7 * 525_960,
      maxPending: 5000,
      exploitsLog: join(dir, "exploits.jsonl"),
      logger: createLogger({ level: "warn" }),
      onSent: (tx) => sent.push(tx),
    });
    setup = await sim.setup();
    await sim.run({ durationMs: 6000 });
    await sim.close();
    // everything sent is mined within a couple of blocks
    const last = sent[sent.length - 1]!.hash;
    await waitForReceipt(anvil, last);
  }, 120_000);

  afterAll(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("deploys every token with its mainnet symbol and decimals", async () => {
    const onChain: Record<string, number> = {};
    for (const t of setup.tokens) {
      const call = (data: string) => anvil.rpc<string>("eth_call", [{ to: t.address, data }, "latest"]);
      const [symbol] = erc20.decodeFunctionResult("symbol", await call(erc20.encodeFunctionData("symbol")));
      const [decimals] = erc20.decodeFunctionResult(
        "decimals",
        await call(erc20.encodeFunctionData("decimals")),
      );
      expect(symbol).toBe(t.symbol);
      onChain[String(symbol)] = Number(decimals);
    }
    expect(onChain).toMatchObject({ USDC: 6, USDT: 6, WBTC: 8, SAITAMA: 9, WETH: 18, DAI: 18, LINK: 18 });
    expect(Object.keys(onChain)).toHaveLength(setup.tokens.length);
  });

  it("sends single transfers, swap-like transactions, multi-token batches and exploits", async () => {
    const stats = sim.stats();
    expect(stats.rejected).toBe(0);
    expect(stats.byKind.single).toBeGreaterThan(0);
    expect(stats.byKind.swap).toBeGreaterThan(0);
    expect(stats.byKind.batch).toBeGreaterThan(0);
    expect(stats.byKind.exploit).toBeGreaterThanOrEqual(5);
    expect(stats.sent).toBe(sent.length);
    // each kind is what it says on chain: Transfer logs of the deployed tokens, from the sender
    const tokens = new Set(setup.tokens.map((t) => t.address));
    for (const kind of ["single", "swap", "batch"] as const) {
      const tx = sent.find((s) => s.kind === kind)!;
      const r = await anvil.rpc<Receipt>("eth_getTransactionReceipt", [tx.hash]);
      expect(r.status).toBe("0x1");
      expect(r.from).toBe(tx.sender);
      const transfers = r.logs.filter((l) => l.topics[0] === TRANSFER && l.topics.length === 3);
      expect(transfers).toHaveLength(tx.transfers);
      expect(transfers.every((l) => tokens.has(l.address))).toBe(true);
      if (kind === "single") expect(transfers).toHaveLength(1);
      if (kind === "swap") expect([2, 3]).toContain(transfers.length);
      if (kind === "batch") expect(transfers.length).toBeGreaterThanOrEqual(4);
    }
  });

  it("records every injected exploit, and each recorded hash is a mined exploit-shaped transaction", async () => {
    const recorded = readFileSync(join(dir, "exploits.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as SentTx);
    expect(recorded.map((e) => e.hash)).toEqual(sim.exploits().map((e) => e.hash));
    expect(recorded.map((e) => e.hash)).toEqual(sent.filter((s) => s.kind === "exploit").map((s) => s.hash));
    const decimals = new Map(setup.tokens.map((t) => [t.address, t.decimals]));
    for (const e of recorded) {
      const r = await anvil.rpc<Receipt>("eth_getTransactionReceipt", [e.hash]);
      expect(r.status, e.hash).toBe("0x1");
      expect(r.from).toBe(e.sender);
      const transfers = r.logs.filter((l) => l.topics[0] === TRANSFER);
      expect(transfers.length).toBeGreaterThanOrEqual(8);
      expect(new Set(transfers.map((l) => l.address)).size).toBeGreaterThanOrEqual(4);
      // very large values: the biggest transfer is worth over 10,000 units of its token
      const biggest = Math.max(
        ...transfers.map(
          (l) =>
            Number(AbiCoder.defaultAbiCoder().decode(["uint256"], l.data)[0]) /
            10 ** decimals.get(l.address)!,
        ),
      );
      expect(biggest).toBeGreaterThan(10_000);
    }
  });

  it("back-dates established senders so their first transaction is as old as planned", async () => {
    const old = sent.filter((s) => s.kind !== "exploit" && s.plannedAgeMinutes > 60 * 24).slice(0, 5);
    expect(old.length).toBeGreaterThan(0);
    for (const s of old) {
      const first = await anvil.rpc<{ receipts: { timestamp: string }[] }>("ots_searchTransactionsAfter", [
        s.sender,
        0,
        1,
      ]);
      const r = await anvil.rpc<Receipt>("eth_getTransactionReceipt", [s.hash]);
      const block = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", [r.blockNumber, false]);
      const age = (Number(block.timestamp) - Number(first.receipts[0]!.timestamp)) / 60;
      expect(Math.abs(age - s.plannedAgeMinutes) / s.plannedAgeMinutes).toBeLessThan(0.01);
    }
  });

  it("uses brand-new senders for transactions planned as a sender's first", async () => {
    const fresh = sent.filter((s) => s.plannedAgeMinutes === 0).slice(0, 3);
    expect(fresh.length).toBeGreaterThan(0);
    for (const s of fresh) {
      const first = await anvil.rpc<{ txs: { hash: string }[] }>("ots_searchTransactionsAfter", [
        s.sender,
        0,
        1,
      ]);
      expect(first.txs[0]!.hash).toBe(s.hash);
    }
  });

  it("leaves the node mining as it found it and its clock at the present", async () => {
    expect(await anvil.rpc("anvil_getAutomine")).toBe(false);
    expect(Number(await anvil.rpc("anvil_getIntervalMining"))).toBe(1);
    const head = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    expect(Math.abs(Number(head.timestamp) - Date.now() / 1000)).toBeLessThan(30);
    expect(setup.clamped).toBe(0);
  });
});

describe("traffic simulator on a chain that starts now", () => {
  let anvil: TestAnvil;
  beforeAll(async () => {
    anvil = await startAnvil();
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it("still runs, with the accounts as old as the chain allows, and says how many were clamped", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "warn",
      destination: { write: (l: string) => lines.push(l) } as never,
    });
    const sim = createSimulator({
      rpcUrl: anvil.httpUrl,
      marginals: await marginals(),
      tokens: resolveTokens({}).tokens,
      seed: 1,
      rate: 10,
      exploitsPerMinute: 0,
      accounts: 20,
      maxAgeMinutes: 7 * 525_960,
      maxPending: 5000,
      logger,
    });
    const setup = await sim.setup();
    expect(setup.clamped).toBeGreaterThan(15);
    expect(lines.join("")).toContain("Chain too young");
    expect(await anvil.rpc("anvil_getAutomine")).toBe(true);
    const stats = await sim.run({ durationMs: 1500 });
    expect(stats.sent).toBeGreaterThan(5);
    expect(stats.rejected).toBe(0);
  });
});
