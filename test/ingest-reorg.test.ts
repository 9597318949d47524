import { describe, expect, it } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import {
  checkpointHistory,
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
const C2 = "0x00000000000000000000000000000000000000c2";

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

  it("beyond a confirmation depth of 2: retracts every published transaction of the orphaned blocks once, publishes the replacements and moves the checkpoint onto the new chain", async () => {
    const { provider, me, token } = await setup();
    const t = await ingestTopics();
    const depth = 2;
    const rpc = anvil.get().rpc.bind(anvil.get());
    const tokenAddress = await token.getAddress();
    const transfer = (to: string, value: bigint) => ({
      from: me,
      to: tokenAddress,
      data: token.interface.encodeFunctionData("transfer", [to, value]),
    });
    const first = (await provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first, confirmations: depth }));
    await waitFor(() => running.ingester.status().role === "active", "active");

    // Block A holds two transactions, block B one; then `depth` empty blocks make B publishable.
    await rpc("evm_setAutomine", [false]);
    let a1: string, a2: string;
    try {
      a1 = await rpc<string>("eth_sendTransaction", [transfer(B1, 1n)]);
      a2 = await rpc<string>("eth_sendTransaction", [transfer(B2, 2n)]);
      await rpc("evm_mine");
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    const a = (await provider.getTransactionReceipt(a1))!;
    expect((await provider.getTransactionReceipt(a2))!.blockNumber).toBe(a.blockNumber);
    const b = await (await token.transfer(B1, 3n)).wait();
    await rpc("anvil_mine", [`0x${depth.toString(16)}`]);
    const head = await provider.getBlockNumber();
    expect(head - depth).toBe(b.blockNumber);
    const before = await waitForCheckpoint(t, b.blockNumber);
    expect(before.blockNumber).toBe(b.blockNumber);
    const orphanedHashes = [a.blockHash, b.blockHash].map(lc);

    // Replace A, B and the blocks above them (depth + 2 > depth): A' and B' get other transfers.
    await rpc("anvil_reorg", [
      depth + 2,
      [
        [transfer(C1, 4n), 0],
        [transfer(C2, 5n), 1],
      ],
    ]);
    expect(await provider.getBlockNumber()).toBe(head);
    const aNew = (await provider.getBlock(a.blockNumber, true))!;
    const bNew = (await provider.getBlock(b.blockNumber, true))!;
    expect(orphanedHashes).not.toContain(lc(aNew.hash!));
    await waitFor(
      () => running.ingester.status().published?.hash === lc(bNew.hash!),
      "the replacement chain to be published",
    );

    const got = await readAllCommitted(t.transfers);
    // One sender, so one partition: Kafka order is the publication order. Newest orphaned
    // block first; within a block, in the order first published.
    expect(got.map((m) => [m.tx.txHash, m.tx.blockNumber, m.tx.removed ?? false])).toEqual([
      [a1, a.blockNumber, false],
      [a2, a.blockNumber, false],
      [b.hash, b.blockNumber, false],
      [b.hash, b.blockNumber, true],
      [a1, a.blockNumber, true],
      [a2, a.blockNumber, true],
      [aNew.transactions[0], a.blockNumber, false],
      [bNew.transactions[0], b.blockNumber, false],
    ]);
    for (const m of got.filter((x) => x.tx.removed)) {
      const original = got.find((x) => x.tx.txHash === m.tx.txHash && !x.tx.removed)!;
      expect(m.tx).toEqual({ ...original.tx, removed: true });
      expect(m.key).toBe(original.key);
    }
    expect(got.slice(6).map((m) => [m.tx.blockHash, m.tx.transfers[0]!.to])).toEqual([
      [lc(aNew.hash!), C1],
      [lc(bNew.hash!), C2],
    ]);

    // The checkpoint went back to the common ancestor (in the retraction's transaction), then
    // forward on the new chain, and remembers no orphaned hash.
    const history = await checkpointHistory(t);
    const orphanedTip = history.findIndex((cp) => cp.blockHash === lc(b.blockHash));
    expect(orphanedTip).toBeGreaterThanOrEqual(0);
    expect(history[orphanedTip + 1]).toMatchObject({
      blockNumber: a.blockNumber - 1,
      blockHash: lc((await provider.getBlock(a.blockNumber - 1))!.hash!),
    });
    const last = history[history.length - 1]!;
    expect(last).toMatchObject({ blockNumber: b.blockNumber, blockHash: lc(bNew.hash!) });
    expect(last.recent.slice(-2).map(([n, h, txs]) => [n, h, txs])).toEqual([
      [a.blockNumber, lc(aNew.hash!), 1],
      [b.blockNumber, lc(bNew.hash!), 1],
    ]);
    expect(last.recent.some(([, h]) => orphanedHashes.includes(h))).toBe(false);

    const m = running.registry;
    expect(await metricValue(m, "att_ingest_reorgs_total", { kind: "published" })).toBe(1);
    expect(await metricValue(m, "att_ingest_removed_transactions_total")).toBe(3);
    expect(await metricValue(m, "att_ingest_orphans_unannounced_total")).toBe(0);
    // anvil pushes the replacement heads oldest first, so the head observer sees the fork at A
    // (published) and does not also report it as a reorg within the confirmation depth.
    expect(await metricValue(m, "att_ingest_reorgs_total", { kind: "unconfirmed" })).toBe(0);
    const logged = running.logs.filter((l) =>
      l.msg?.toString().startsWith("Chain reorganisation below published blocks"),
    );
    expect(logged).toEqual([
      expect.objectContaining({
        depth: 2,
        ancestor_number: a.blockNumber - 1,
        orphaned_from: a.blockNumber,
        orphaned_to: b.blockNumber,
        removed_txs: 3,
      }),
    ]);
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
