import { describe, expect, it } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import {
  checkpointHistory,
  checkpointOf,
  childEnv,
  ingestOptions,
  ingestTopics,
  readAllCommitted,
  spawnIngester,
  startIngester,
  startTcpProxy,
  waitForCheckpoint,
} from "./ingest-harness.js";

describe("att ingest survives a dropped socket and a SIGKILL", () => {
  const anvil = useAnvil();

  it(
    "publishes every transfer exactly once across a WebSocket outage (HTTP polling meanwhile) and a kill -9 restart",
    { timeout: 180_000 },
    async () => {
      const { signer } = await connectAnvil(anvil.get().httpUrl);
      const me = await signer.getAddress();
      const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
      await (await token.mint(me, 10n ** 24n)).wait();
      const sent: string[] = [];
      let lastBlock = 0;
      const send = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const to = `0x${(sent.length + 1).toString(16).padStart(40, "0")}`;
          const r = await (await token.transfer(to, BigInt(sent.length + 1))).wait();
          sent.push(r.hash);
          lastBlock = r.blockNumber;
        }
      };

      const t = await ingestTopics();
      const proxy = await startTcpProxy(anvil.get().port);
      const env = childEnv(anvil.get(), t, { ATT_RPC_WS_URL: `ws://127.0.0.1:${proxy.port}` });
      const first = (await signer.provider.getBlockNumber()) + 1;
      const a = spawnIngester({ ...env, ATT_INGEST_FROM_BLOCK: String(first) });
      await a.waitForLog("Ingest lease acquired, active");
      await send(10);
      await waitForCheckpoint(t, lastBlock);

      // The socket dies and cannot come back for a while: heads are polled over HTTP.
      proxy.refuse(true);
      proxy.cut();
      const cutAt = a.logs.length;
      await a.waitForLog("WebSocket closed, reconnecting", { after: cutAt });
      await send(10);
      await waitForCheckpoint(t, lastBlock);
      proxy.refuse(false);
      await a.waitForLog("WebSocket connected", { after: cutAt });

      // kill -9 in the middle of a stream of blocks, then a fresh process resumes from the checkpoint.
      const traffic = send(20);
      await waitForCheckpoint(t, lastBlock + 3);
      await a.kill("SIGKILL");
      await traffic;
      const b = spawnIngester(env);
      await b.waitForLog("Resuming after the checkpoint");
      await send(5);
      await waitForCheckpoint(t, lastBlock);

      const got = await readAllCommitted(t.transfers);
      const hashes = got.map((m) => m.tx.txHash);
      expect(hashes.length).toBe(sent.length);
      expect(new Set(hashes)).toEqual(new Set(sent));
    },
  );

  it(
    "--from-block overrides an existing checkpoint: starts at that block, publishes the blocks after it again and rewrites the checkpoint from there",
    { timeout: 120_000 },
    async () => {
      const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
      const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
      await (await token.mint(await signer.getAddress(), 10n ** 24n)).wait();
      const sent: { hash: string; block: number }[] = [];
      const send = async () => {
        const r = await (await token.transfer(`0x${"0".repeat(38)}cd`, BigInt(sent.length + 1))).wait();
        sent.push({ hash: r.hash, block: r.blockNumber });
        return r.blockNumber as number;
      };
      const t = await ingestTopics();

      // A first run publishes four blocks with one transfer each; its checkpoint is at the fourth.
      const first = (await provider.getBlockNumber()) + 1;
      const earlier = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first }));
      for (let i = 0; i < 4; i++) await send();
      await waitForCheckpoint(t, sent[3]!.block);
      await earlier.stop();
      const old = (await checkpointOf(t))!;
      expect(old).toMatchObject({ blockNumber: sent[3]!.block, fencingToken: 1 });

      // The real CLI flag, back to the second of those blocks.
      const from = sent[1]!.block;
      const env = childEnv(anvil.get(), t);
      const b = spawnIngester(env, ["--from-block", String(from)]);
      const started = await b.waitForLog("Starting at the requested block, ignoring the checkpoint");
      expect(started.from_block).toBe(from);
      expect(b.logs.some((l) => l.msg === "Resuming after the checkpoint")).toBe(false);
      const fifth = await send();
      await waitForCheckpoint(t, fifth);

      const txs = (await readAllCommitted(t.transfers)).map((m) => m.tx);
      expect(txs.every((m) => !m.removed)).toBe(true);
      const h = sent.map((x) => x.hash);
      expect(txs.map((m) => m.txHash)).toEqual([h[0], h[1], h[2], h[3], h[1], h[2], h[3], h[4]]);

      // The new checkpoints start over at `from`: they remember its parent (as the anchor) and
      // the blocks published since, none of the first run's history below it.
      const written = (await checkpointHistory(t)).filter((cp) => cp.fencingToken === 2);
      expect(written.length).toBeGreaterThan(0);
      const anchor = [from - 1, (await provider.getBlock(from - 1))!.hash!.toLowerCase(), 0, 0];
      for (const cp of written) expect(cp.recent[0]).toEqual(anchor);
      expect(written[0]!.recent[1]![0]).toBe(from);
      expect(written[written.length - 1]!.recent.map(([n]) => n)).toEqual([
        from - 1,
        ...sent.slice(1).map((x) => x.block),
      ]);

      // The flag does not outlive the process: the next start resumes after that checkpoint.
      await b.kill("SIGTERM");
      const c = spawnIngester(env);
      const resumed = await c.waitForLog("Resuming after the checkpoint");
      expect(resumed.block_number).toBe(fifth);
      const sixth = await send();
      await waitForCheckpoint(t, sixth);
      const after = (await readAllCommitted(t.transfers)).map((m) => m.tx.txHash);
      expect(after.slice(txs.length)).toEqual([sent[5]!.hash]);
    },
  );
});
