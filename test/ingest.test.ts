import { describe, expect, it } from "vitest";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import {
  connectAnvil,
  deployBatcher,
  deployErc20,
  deployNft,
  deployNotAToken,
  deployTransferEmitter,
} from "./fixtures/contracts/deploy.js";
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

describe("att ingest publishes token-transfer transactions", () => {
  const anvil = useAnvil();

  it("publishes exactly one message per transaction with ERC-20 transfers, keyed by the sender, values exact", async () => {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const alice = lc(await signer.getAddress());
    const bob = lc((await provider.getSigner(1)).address);
    const carol = lc((await provider.getSigner(2)).address);
    const usdc = await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 });
    const dai = await deployErc20(signer, { name: "Dai", symbol: "DAI", decimals: 18 });
    const nft = await deployNft(signer, { name: "Apes", symbol: "APE" });
    const batcher = await deployBatcher(signer);
    const other = await deployNotAToken(signer);
    const [usdcA, daiA, batcherA] = [
      lc(await usdc.getAddress()),
      lc(await dai.getAddress()),
      lc(await batcher.getAddress()),
    ];
    const huge = (1n << 255n) + 12345n;
    const big = (1n << 200n) + 987654321n;
    await (await usdc.mint(alice, 10n ** 12n)).wait();
    await (await dai.mint(alice, huge)).wait();
    await (await usdc.approve(batcherA, 10n ** 12n)).wait();
    await (await nft.mint(alice, 1n)).wait();

    const t = await ingestTopics();
    const first = (await provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first }));

    const single = await (await usdc.transfer(bob, 1_500_000n)).wait();
    const several = await (await batcher.transferFromMany([usdcA, usdcA], [bob, carol], [1n, 2n])).wait();
    const tokens = await (await batcher.mintMany([usdcA, daiA], [carol, bob], [7n, big])).wait();
    const erc721 = await (await nft.transferFrom(alice, bob, 1n)).wait();
    const none = await (await other.bump()).wait();
    const last = Math.max(
      single.blockNumber,
      several.blockNumber,
      tokens.blockNumber,
      erc721.blockNumber,
      none.blockNumber,
    );
    await waitForCheckpoint(t, last);

    const got = await readAllCommitted(t.transfers);
    const byHash = new Map(got.map((m) => [m.tx.txHash, m]));
    expect(got).toHaveLength(3);
    expect(byHash.has(erc721.hash)).toBe(false);
    expect(byHash.has(none.hash)).toBe(false);

    const block = async (r: { blockNumber: number; blockHash: string; hash: string; index: number }) => ({
      v: 1 as const,
      chainId: 31337,
      blockNumber: r.blockNumber,
      blockHash: r.blockHash,
      blockTimestamp: (await provider.getBlock(r.blockNumber))!.timestamp,
      txHash: r.hash,
      txIndex: r.index,
      from: alice,
      observedAt: expect.any(Number) as unknown as number,
    });
    const expected: TokenTransferTx[] = [
      {
        ...(await block(single)),
        to: usdcA,
        transfers: [{ logIndex: 0, token: usdcA, from: alice, to: bob, value: "1500000" }],
      },
      {
        ...(await block(several)),
        to: batcherA,
        transfers: [
          { logIndex: 0, token: usdcA, from: alice, to: bob, value: "1" },
          { logIndex: 1, token: usdcA, from: alice, to: carol, value: "2" },
        ],
      },
      {
        ...(await block(tokens)),
        to: batcherA,
        transfers: [
          {
            logIndex: 0,
            token: usdcA,
            from: "0x0000000000000000000000000000000000000000",
            to: carol,
            value: "7",
          },
          {
            logIndex: 1,
            token: daiA,
            from: "0x0000000000000000000000000000000000000000",
            to: bob,
            value: big.toString(),
          },
        ],
      },
    ];
    for (const e of expected) {
      const m = byHash.get(e.txHash);
      expect(m?.tx, e.txHash).toEqual(e);
      expect(m?.key).toBe(alice);
    }
    expect(await metricValue(running.registry, "att_ingest_transactions_published_total")).toBe(3);
    expect(await metricValue(running.registry, "att_ingest_transfers_published_total")).toBe(5);
  });

  it("groups several transactions of one block, skips malformed Transfer logs with a counted warning", async () => {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const alice = lc(await signer.getAddress());
    const bob = lc((await provider.getSigner(1)).address);
    const emitter = await deployTransferEmitter(signer);
    const t = await ingestTopics();
    const first = (await provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first }));

    await anvil.get().rpc("evm_setAutomine", [false]);
    try {
      const good = await emitter.emitTransfer(alice, bob, 5n);
      const bad = await emitter.emitWithData(alice, bob, 64n);
      const mixedData = emitter.interface.encodeFunctionData("emitTwoTopics", [alice, 9n]);
      const two = await signer.sendTransaction({ to: await emitter.getAddress(), data: mixedData });
      await anvil.get().rpc("evm_mine");
      const receipts = await Promise.all([good.wait(), bad.wait(), two.wait()]);
      expect(new Set(receipts.map((r) => r!.blockNumber)).size).toBe(1);
      await waitForCheckpoint(t, receipts[0]!.blockNumber);
      const got = await readAllCommitted(t.transfers);
      expect(got.map((m) => m.tx.txHash)).toEqual([good.hash]);
      expect(got[0]!.tx.transfers).toEqual([
        { logIndex: 0, token: lc(await emitter.getAddress()), from: alice, to: bob, value: "5" },
      ]);
      expect(
        await metricValue(running.registry, "att_ingest_malformed_logs_total", { reason: "data_length" }),
      ).toBe(1);
      expect(
        await metricValue(running.registry, "att_ingest_malformed_logs_total", { reason: "topic_count" }),
      ).toBe(1);
      expect(
        running.logs.filter((l) => l.msg === "Malformed Transfer log skipped").map((l) => l.tx_hash),
      ).toEqual([bad.hash, two.hash]);
    } finally {
      await anvil.get().rpc("evm_setAutomine", [true]);
    }
  });

  it("reports ready only once caught up with the head", async () => {
    const { provider } = await connectAnvil(anvil.get().httpUrl);
    await anvil.get().rpc("anvil_mine", ["0x40"]);
    const t = await ingestTopics();
    const head = await provider.getBlockNumber();
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: head - 50 }));
    expect(running.ingester.ready()).toBe(false);
    await waitFor(() => running.ingester.ready(), "ready");
    expect(running.ingester.status().published?.number).toBe(head);
    expect(await metricValue(running.registry, "att_ingest_blocks_published_total")).toBe(51);
    expect(await metricValue(running.registry, "att_ingest_backfill_blocks_total")).toBe(51);
    expect(await metricValue(running.registry, "att_ingest_backfill_remaining_blocks")).toBe(0);
    expect(await metricValue(running.registry, "att_ingest_role", { role: "active" })).toBe(1);
  });
});
