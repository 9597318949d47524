import { describe, expect, it } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import { connectedProducer } from "./helpers/kafka.js";
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
  waitFor,
  waitForCheckpoint,
} from "./ingest-harness.js";

describe("att ingest survives a dropped socket and a SIGKILL", () => {
  const anvil = useAnvil();

  it(
    "publishes every transfer exactly once across a WebSocket outage (HTTP polling meanwhile) and a kill -9 restart that keeps ATT_INGEST_FROM_BLOCK in the environment",
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
      // As a supervisor runs it: the same environment, ATT_INGEST_FROM_BLOCK included, every start.
      const supervised = { ...env, ATT_INGEST_FROM_BLOCK: String(first) };
      const a = spawnIngester(supervised);
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

      // kill -9 in the middle of a stream of blocks, then a fresh process with the same
      // environment resumes from the checkpoint: the from-block request was already applied.
      const traffic = send(20);
      await waitForCheckpoint(t, lastBlock + 3);
      await a.kill("SIGKILL");
      await traffic;
      const b = spawnIngester(supervised);
      const resumed = await b.waitForLog(
        "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
      );
      expect(resumed.from_block).toBe(first);
      expect(b.logs.some((l) => l.msg === "Starting from ATT_INGEST_FROM_BLOCK")).toBe(false);
      await send(5);
      await waitForCheckpoint(t, lastBlock);

      const got = await readAllCommitted(t.transfers);
      const hashes = got.map((m) => m.tx.txHash);
      expect(hashes.length).toBe(sent.length);
      expect(new Set(hashes)).toEqual(new Set(sent));
    },
  );

  it(
    "--from-block overrides an existing checkpoint once: starts at that block, publishes the blocks after it again and rewrites the checkpoint from there; a second start with the same flag resumes",
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
      expect(old).toMatchObject({
        blockNumber: sent[3]!.block,
        fencingToken: 1,
        fromBlock: { block: first },
      });

      // The real CLI flag, back to the second of those blocks: a value other than the one the
      // checkpoint records as applied, so it is a new request.
      const from = sent[1]!.block;
      const env = childEnv(anvil.get(), t);
      const b = spawnIngester(env, ["--from-block", String(from)]);
      const started = await b.waitForLog("Starting from ATT_INGEST_FROM_BLOCK");
      expect(started).toMatchObject({
        from_block: from,
        checkpoint_block: sent[3]!.block,
        previous_from_block: first,
      });
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
      // Each of them records the request, with the time of the first one.
      const applied = { block: from, appliedAt: written[0]!.updatedAt };
      for (const cp of written) expect(cp.fromBlock).toEqual(applied);
      const anchor = [from - 1, (await provider.getBlock(from - 1))!.hash!.toLowerCase(), 0, 0];
      for (const cp of written) expect(cp.recent[0]).toEqual(anchor);
      expect(written[0]!.recent[1]![0]).toBe(from);
      expect(written[written.length - 1]!.recent.map(([n]) => n)).toEqual([
        from - 1,
        ...sent.slice(1).map((x) => x.block),
      ]);

      // The same flag again (a supervisor's restart): already applied, so it resumes after the
      // checkpoint and publishes only the new block.
      await b.kill("SIGTERM");
      const c = spawnIngester(env, ["--from-block", String(from)]);
      const resumed = await c.waitForLog(
        "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
      );
      expect(resumed).toMatchObject({
        from_block: from,
        applied_at: new Date(applied.appliedAt).toISOString(),
        block_number: fifth,
      });
      expect(c.logs.some((l) => l.msg === "Starting from ATT_INGEST_FROM_BLOCK")).toBe(false);
      const sixth = await send();
      await waitForCheckpoint(t, sixth);
      const after = (await readAllCommitted(t.transfers)).map((m) => m.tx.txHash);
      expect(after.slice(txs.length)).toEqual([sent[5]!.hash]);
      expect((await checkpointOf(t))!.fromBlock).toEqual(applied);

      // Without the flag it resumes too, and the record stays for the next start that has it.
      await c.kill("SIGTERM");
      const d = spawnIngester(env);
      expect((await d.waitForLog("Resuming after the checkpoint")).block_number).toBe(sixth);
      const seventh = await send();
      await waitForCheckpoint(t, seventh);
      const last = (await readAllCommitted(t.transfers)).map((m) => m.tx.txHash);
      expect(last.slice(after.length)).toEqual([sent[6]!.hash]);
      expect((await checkpointOf(t))!.fromBlock).toEqual(applied);
    },
  );
  it(
    "a restart with ATT_INGEST_FROM_BLOCK still in the environment resumes after the checkpoint: nothing is published twice",
    { timeout: 120_000 },
    async () => {
      const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
      const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
      await (await token.mint(await signer.getAddress(), 10n ** 24n)).wait();
      const sent: string[] = [];
      const send = async () => {
        const r = await (await token.transfer(`0x${"0".repeat(38)}ef`, BigInt(sent.length + 1))).wait();
        sent.push(r.hash);
        return r.blockNumber as number;
      };
      const t = await ingestTopics();
      const first = (await provider.getBlockNumber()) + 1;
      const env = childEnv(anvil.get(), t, { ATT_INGEST_FROM_BLOCK: String(first) });

      const a = spawnIngester(env);
      expect((await a.waitForLog("Starting from ATT_INGEST_FROM_BLOCK")).from_block).toBe(first);
      let last = 0;
      for (let i = 0; i < 3; i++) last = await send();
      const cp = await waitForCheckpoint(t, last);
      expect(cp.fromBlock).toEqual({ block: first, appliedAt: expect.any(Number) as number });
      await a.kill("SIGTERM");

      const b = spawnIngester(env);
      await b.waitForLog("Ingest lease acquired, active");
      const resumedAt = last;
      last = await send();
      await waitForCheckpoint(t, last);
      // Each transfer once: the three of the first run, then the new one.
      expect((await readAllCommitted(t.transfers)).map((m) => m.tx.txHash)).toEqual(sent);
      const resumed = b.logs.find(
        (l) => l.msg === "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
      );
      expect(resumed).toMatchObject({
        from_block: first,
        applied_at: new Date(cp.fromBlock!.appliedAt).toISOString(),
        block_number: resumedAt,
      });
    },
  );

  it("with no checkpoint yet, a start that published nothing leaves ATT_INGEST_FROM_BLOCK to the next start", async () => {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
    await (await token.mint(await signer.getAddress(), 10n ** 24n)).wait();
    const sent: { hash: string; block: number }[] = [];
    const send = async () => {
      const r = await (await token.transfer(`0x${"0".repeat(38)}12`, BigInt(sent.length + 1))).wait();
      sent.push({ hash: r.hash, block: r.blockNumber });
      return r.blockNumber as number;
    };
    const t = await ingestTopics();
    // Two blocks above the head: the first run has nothing to publish, so it records nothing.
    const from = (await provider.getBlockNumber()) + 3;
    const options = ingestOptions(anvil.get(), t, { fromBlock: from });
    const early = startIngester(options);
    await waitFor(
      () => early.logs.find((l) => l.msg === "Starting from ATT_INGEST_FROM_BLOCK"),
      "the start log",
    );
    await waitFor(() => early.ingester.status().head !== undefined, "the first head");
    await early.stop();
    expect(await checkpointOf(t)).toBeUndefined();

    const later = startIngester(options);
    const started = await waitFor(
      () => later.logs.find((l) => l.msg === "Starting from ATT_INGEST_FROM_BLOCK"),
      "the start log",
    );
    expect(started).toMatchObject({ from_block: from, checkpoint_block: null, previous_from_block: null });
    let last = 0;
    for (let i = 0; i < 4; i++) last = await send();
    expect(sent[2]!.block).toBe(from);
    const cp = await waitForCheckpoint(t, last);
    expect(cp.fromBlock?.block).toBe(from);
    const txs = (await readAllCommitted(t.transfers)).map((m) => m.tx.txHash);
    expect(txs).toEqual(sent.filter((x) => x.block >= from).map((x) => x.hash));
  });

  it("a corrupt checkpoint is replaced by starting from ATT_INGEST_FROM_BLOCK, which later starts then find applied", async () => {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
    await (await token.mint(await signer.getAddress(), 10n ** 24n)).wait();
    const t = await ingestTopics();
    const producer = await connectedProducer();
    await producer.send({
      topic: t.checkpoint,
      messages: [{ key: "31337", value: '{"v":1,"chainId":31337,"blockNumber":"ten"}' }],
    });
    const from = (await provider.getBlockNumber()) + 1;
    const options = ingestOptions(anvil.get(), t, { fromBlock: from });
    const first = startIngester(options);
    const warned = await waitFor(
      () =>
        first.logs.find(
          (l) =>
            l.msg === "The checkpoint is invalid; starting from ATT_INGEST_FROM_BLOCK, which replaces it",
        ),
      "the warning",
    );
    expect(warned.from_block).toBe(from);
    const r = await (await token.transfer(`0x${"0".repeat(38)}34`, 1n)).wait();
    expect((await waitForCheckpoint(t, r.blockNumber as number)).fromBlock?.block).toBe(from);
    await first.stop();

    const second = startIngester(options);
    await waitFor(
      () =>
        second.logs.find(
          (l) => l.msg === "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
        ),
      "the resume log",
    );
    const r2 = await (await token.transfer(`0x${"0".repeat(38)}34`, 2n)).wait();
    await waitForCheckpoint(t, r2.blockNumber as number);
    expect((await readAllCommitted(t.transfers)).map((m) => m.tx.txHash)).toEqual([r.hash, r2.hash]);
  });
});
