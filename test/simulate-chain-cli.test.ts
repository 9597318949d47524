import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { freePort, startAnvil, type TestAnvil } from "./helpers/anvil.js";
import { spawnAtt, type AttProcess } from "./helpers/processes.js";

// `att simulate` in chain mode, run as a user runs it (the real CLI), each test against its own
// anvil so that what is on chain is exactly what this run sent.

const dir = mkdtempSync(join(tmpdir(), "att-simulate-chain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Far from the defaults (20 tx/s, 12 exploits/min), so an ignored flag shows in the counts. */
const RATE = 60;
const EXPLOITS_PER_MINUTE = 300;

interface Summary {
  seed: number;
  sent: number;
  byKind: { single: number; swap: number; batch: number; exploit: number };
  rejected: number;
  pausedMs: number;
  exploits: { hash: string; template: string }[];
}

interface Receipt {
  transactionHash: string;
  blockNumber: string;
  from: string;
  to: string | null;
  contractAddress: string | null;
  status: string;
}

async function privateAnvil(args: string[] = []): Promise<TestAnvil> {
  const anvil = await startAnvil(args);
  onTestFinished(() => anvil.stop());
  return anvil;
}

function simulate(name: string, anvil: Pick<TestAnvil, "httpUrl">, args: string[], logLevel = "warn") {
  return spawnAtt(
    name,
    ["simulate", "--rpc", anvil.httpUrl, "--accounts", "50", "--rate", String(RATE), ...args],
    { ATT_LOG_LEVEL: logLevel },
  );
}

/** The totals line the CLI prints last on stdout (log lines are JSON too, without byKind). */
function summaryOf(p: AttProcess): Summary {
  const line = p
    .output()
    .split("\n")
    .filter((l) => l.includes('"byKind"'))
    .pop();
  if (!line) throw new Error(`${p.name} printed no totals:\n${p.output()}`);
  return JSON.parse(line) as Summary;
}

/**
 * Every simulated transaction mined on the node: those sent to a contract the simulator
 * deployed (its tokens and batcher). Setup transactions are deployments and self-sends.
 * Waits for the pool to drain first, so a sent but dropped transaction shows as missing.
 */
async function minedTraffic(anvil: TestAnvil): Promise<Receipt[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pool = await anvil.rpc<{ pending: string; queued: string }>("txpool_status");
    if (Number(pool.pending) + Number(pool.queued) === 0) break;
    if (Date.now() > deadline) throw new Error(`pool not drained: ${JSON.stringify(pool)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const head = Number(await anvil.rpc<string>("eth_blockNumber"));
  const receipts: Receipt[] = [];
  for (let n = 0; n <= head; n++) {
    receipts.push(...(await anvil.rpc<Receipt[]>("eth_getBlockReceipts", [`0x${n.toString(16)}`])));
  }
  const deployed = new Set(receipts.filter((r) => r.to === null).map((r) => r.contractAddress));
  return receipts.filter((r) => r.to !== null && deployed.has(r.to));
}

async function blockTime(anvil: TestAnvil, blockNumber: string): Promise<number> {
  const b = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", [blockNumber, false]);
  return Number(b.timestamp);
}

/** The sent counts follow the rate and exploit options, within generous bounds (not a speed test). */
function expectCountsFollowRates(s: Summary, seconds: number) {
  const normal = s.sent - s.byKind.exploit;
  expect(normal).toBeGreaterThanOrEqual(0.5 * RATE * seconds);
  expect(normal).toBeLessThanOrEqual(1.3 * RATE * seconds);
  const exploitsExpected = (EXPLOITS_PER_MINUTE / 60) * seconds;
  expect(s.byKind.exploit).toBeGreaterThanOrEqual(0.5 * exploitsExpected);
  expect(s.byKind.exploit).toBeLessThanOrEqual(1.3 * exploitsExpected + 1);
  // their share of all traffic: 5 exploits/s among 60 normal tx/s
  const share = s.byKind.exploit / s.sent;
  const shareExpected = EXPLOITS_PER_MINUTE / 60 / (RATE + EXPLOITS_PER_MINUTE / 60);
  expect(share).toBeGreaterThanOrEqual(0.5 * shareExpected);
  expect(share).toBeLessThanOrEqual(1.3 * shareExpected);
}

/** What the CLI reported sending is what the node mined, and the recorded exploits are among it. */
async function expectChainMatches(anvil: TestAnvil, s: Summary): Promise<Receipt[]> {
  const mined = await minedTraffic(anvil);
  expect(s.rejected).toBe(0);
  expect(mined).toHaveLength(s.sent);
  expect(mined.filter((r) => r.status !== "0x1")).toEqual([]);
  const minedHashes = new Set(mined.map((r) => r.transactionHash));
  expect(s.exploits).toHaveLength(s.byKind.exploit);
  expect(new Set(s.exploits.map((e) => e.hash)).size).toBe(s.exploits.length);
  expect(s.exploits.filter((e) => !minedHashes.has(e.hash))).toEqual([]);
  return mined;
}

describe("att simulate on a node", () => {
  it("sends rate × duration normal transactions plus the configured exploits, all mined, and exits 0 with the totals and exploit hashes", async () => {
    const anvil = await privateAnvil(["--block-time", "1"]);
    const log = join(dir, "exploits.jsonl");
    const seconds = 4;
    const p = simulate("simulate-chain-duration", anvil, [
      "--exploits-per-minute",
      String(EXPLOITS_PER_MINUTE),
      "--seed",
      "7",
      "--duration",
      String(seconds),
      "--exploits-log",
      log,
    ]);
    expect(await p.exited, p.output()).toBe(0);
    const s = summaryOf(p);
    expect(s.seed).toBe(7);
    expectCountsFollowRates(s, seconds);
    const mined = await expectChainMatches(anvil, s);
    // the exploits log names the same hashes as the totals
    const logged = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { hash: string }).hash);
    expect(logged).toEqual(s.exploits.map((e) => e.hash));
    // spread over the duration, not sent in one burst
    const span =
      (await blockTime(anvil, mined.at(-1)!.blockNumber)) - (await blockTime(anvil, mined[0]!.blockNumber));
    expect(span).toBeGreaterThanOrEqual(0.5 * seconds);
    expect(span).toBeLessThanOrEqual(seconds + 3);
  }, 60_000);

  it.each(["SIGINT", "SIGTERM"] as const)(
    "without --duration runs until %s, then stops cleanly (exit 0) with totals that match the chain",
    async (signal) => {
      const anvil = await privateAnvil(["--block-time", "1"]);
      const p = simulate(
        `simulate-chain-${signal}`,
        anvil,
        ["--exploits-per-minute", String(EXPLOITS_PER_MINUTE)],
        "info",
      );
      // logged right before the traffic starts
      await p.waitFor(/"msg":"Tokens deployed"/, 40_000);
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      const code = await p.kill(signal);
      const seconds = (Date.now() - started) / 1000;
      expect(code, p.output()).toBe(0);
      const s = summaryOf(p);
      expectCountsFollowRates(s, seconds);
      await expectChainMatches(anvil, s);
    },
    60_000,
  );

  it("refuses a bad flag or an unreachable node with a message naming what to fix, before touching the chain", async () => {
    const anvil = await privateAnvil();
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const cases: { args: string[]; code: number; says: RegExp[] }[] = [
      { args: ["--rate", "-5"], code: 1, says: [/ATT_SIMULATE_RATE/, /got "-5"/, /Fix:/] },
      {
        args: ["--exploits-per-minute", "-1"],
        code: 1,
        says: [/ATT_SIMULATE_EXPLOITS_PER_MINUTE/, /got "-1"/, /Fix:/],
      },
      { args: ["--duration", "-1"], code: 1, says: [/Invalid --duration: got "-1"/, /non-negative integer/] },
      // a node that may come back is a temporary failure (75), not a user error
      {
        args: ["--rpc", unreachable],
        code: 75,
        says: [/could not reach the node/, new RegExp(`URL: ${unreachable}`), /Fix:.*--rpc/],
      },
    ];
    await Promise.all(
      cases.map(async (c, i) => {
        const p = simulate(`simulate-chain-refused-${i}`, anvil, c.args);
        expect(await p.exited, p.output()).toBe(c.code);
        for (const re of c.says) expect(p.output()).toMatch(re);
        expect(p.output()).not.toContain('"byKind"');
      }),
    );
    expect(await anvil.rpc("eth_blockNumber")).toBe("0x0");
  }, 60_000);

  it("refuses a second run with the same seed on the same node, naming --seed, instead of failing on nonce too low", async () => {
    const anvil = await privateAnvil();
    const args = ["--seed", "11", "--duration", "1", "--exploits-per-minute", "0"];
    const first = simulate("simulate-chain-seed-1", anvil, args);
    expect(await first.exited, first.output()).toBe(0);
    const head = await anvil.rpc<string>("eth_blockNumber");
    const again = simulate("simulate-chain-seed-2", anvil, args);
    expect(await again.exited, again.output()).toBe(1);
    expect(again.output()).toMatch(/already ran the simulator with the same seed/);
    expect(again.output()).toMatch(/Fix: pass another --seed/);
    expect(await anvil.rpc<string>("eth_blockNumber")).toBe(head);
  }, 60_000);
});
