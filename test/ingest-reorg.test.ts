import { describe, expect, it } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import {
  ingestOptions,
  ingestTopics,
  metricValue,
  readAllCommitted,
  startIngester,
  waitFor,
  waitForCheckpoint,
} from "./ingest-harness.js";

const lc = (a: string) => a.toLowerCase();
const B1 = "0x00000000000000000000000000000000000000b1";
const B2 = "0x00000000000000000000000000000000000000b2";
const C1 = "0x00000000000000000000000000000000000000c1";

describe("att ingest across chain reorganisations (anvil_reorg)", () => {
  const anvil = useAnvil();

  async function setup() {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const me = lc(await signer.getAddress());
    const token = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
    await (await token.mint(me, 1_000n)).wait();
    return { signer, provider, me, token };
  }

  /** anvil_reorg(depth) replacing the last `depth` blocks; `replacement` goes into the first new block. */
  async function reorg(depth: number, me: string, token: AnyContract, to: string, value: bigint) {
    const data = token.interface.encodeFunctionData("transfer", [to, value]);
    await anvil.get().rpc("anvil_reorg", [depth, [[{ from: me, to: await token.getAddress(), data }, 0]]]);
  }

  it("within the confirmation depth: publishes only the canonical transactions, nothing twice, nothing removed", async () => {
    const { provider, me, token } = await setup();
    const t = await ingestTopics();
    const first = (await provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first, confirmations: 3 }));
    await waitFor(() => running.ingester.status().role === "active", "active");

    const orphan = await (await token.transfer(B1, 1n)).wait();
    await anvil.get().rpc("evm_mine");
    // Head = orphan + 1: with 3 confirmations the orphan's block is not publishable yet.
    await reorg(2, me, token, C1, 3n);
    const canonicalHash = (await provider.getBlock(orphan.blockNumber, true))!.transactions[0]!;
    await anvil.get().rpc("anvil_mine", ["0x4"]);
    await waitForCheckpoint(t, orphan.blockNumber + 1);

    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => [m.tx.txHash, m.tx.removed ?? false, m.tx.transfers[0]!.to])).toEqual([
      [canonicalHash, false, C1],
    ]);
    expect(await metricValue(running.registry, "att_ingest_removed_transactions_total")).toBe(0);
    expect(
      await metricValue(running.registry, "att_ingest_reorgs_total", { kind: "unconfirmed" }),
    ).toBeGreaterThanOrEqual(1);
    expect(await metricValue(running.registry, "att_ingest_reorgs_total", { kind: "published" })).toBe(0);
  });

  it("beyond the confirmation depth: announces each orphaned transaction removed, then publishes the replacement", async () => {
    const { provider, me, token } = await setup();
    const t = await ingestTopics();
    const first = (await provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first, confirmations: 0 }));

    const tx1 = await (await token.transfer(B1, 1n)).wait();
    const tx2 = await (await token.transfer(B2, 2n)).wait();
    await waitForCheckpoint(t, tx2.blockNumber);
    await reorg(2, me, token, C1, 3n);
    const replacement = (await provider.getBlock(tx1.blockNumber, true))!.transactions[0]!;
    await waitFor(async () => {
      const cp = await running.ingester.status().published;
      return (
        cp &&
        cp.number >= tx2.blockNumber &&
        cp.hash === lc((await provider.getBlock(tx2.blockNumber))!.hash!)
      );
    }, "the replacement chain to be published");

    const got = await readAllCommitted(t.transfers);
    // One sender, so one partition: Kafka order is the publication order.
    expect(got.map((m) => [m.tx.txHash, m.tx.removed ?? false])).toEqual([
      [tx1.hash, false],
      [tx2.hash, false],
      [tx2.hash, true],
      [tx1.hash, true],
      [replacement, false],
    ]);
    const original = (hash: string) => got.find((m) => m.tx.txHash === hash && !m.tx.removed)!;
    for (const hash of [tx1.hash, tx2.hash]) {
      const removed = got.find((m) => m.tx.txHash === hash && m.tx.removed)!;
      expect(removed.tx).toEqual({ ...original(hash).tx, removed: true });
      expect(removed.key).toBe(original(hash).key);
    }
    expect(await metricValue(running.registry, "att_ingest_reorgs_total", { kind: "published" })).toBe(1);
    expect(await metricValue(running.registry, "att_ingest_removed_transactions_total")).toBe(2);
    expect(
      running.logs.some((l) => l.msg?.toString().startsWith("Chain reorganisation below published blocks")),
    ).toBe(true);
  });

  it("after a restart, still recognises a reorg of blocks published before it (hashes kept in the checkpoint)", async () => {
    const { provider, me, token } = await setup();
    const t = await ingestTopics();
    const first = (await provider.getBlockNumber()) + 1;
    const before = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first }));
    const tx1 = await (await token.transfer(B1, 1n)).wait();
    await waitForCheckpoint(t, tx1.blockNumber);
    await before.stop();

    await reorg(1, me, token, C1, 3n);
    const replacement = (await provider.getBlock(tx1.blockNumber, true))!.transactions[0]!;
    const after = startIngester(ingestOptions(anvil.get(), t));
    await waitFor(async () => {
      const p = after.ingester.status().published;
      return p && p.hash === lc((await provider.getBlock(tx1.blockNumber))!.hash!);
    }, "the replacement block to be published");

    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => [m.tx.txHash, m.tx.removed ?? false])).toEqual([
      [tx1.hash, false],
      [tx1.hash, true],
      [replacement, false],
    ]);
  });
});
