import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/kernel/logger.js";
import { makeCheckpoint } from "../src/ingest/checkpoint.js";
import { ProducerFencedError } from "../src/ingest/errors.js";
import { openPublisher } from "../src/ingest/publisher.js";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { freePort, useAnvil } from "./helpers/anvil.js";
import { REDIS_URL } from "./helpers/services.js";
import {
  childEnv,
  ingestOptions,
  ingestTopics,
  kafka,
  readAllCommitted,
  spawnIngester,
  startIngester,
  waitFor,
  waitForCheckpoint,
} from "./ingest-harness.js";

describe("att ingest high availability", () => {
  const anvil = useAnvil();

  async function traffic() {
    const { signer } = await connectAnvil(anvil.get().httpUrl);
    const me = await signer.getAddress();
    const token: AnyContract = await deployErc20(signer, { name: "Token", symbol: "TKN", decimals: 18 });
    await (await token.mint(me, 10n ** 24n)).wait();
    const sent: string[] = [];
    const state = { lastBlock: 0 };
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await (await token.transfer(`0x${"0".repeat(38)}ab`, 1n)).wait();
        sent.push(r.hash);
        state.lastBlock = r.blockNumber;
      }
    };
    return { signer, sent, state, send };
  }

  it(
    "a standby takes over when the active ingester is killed, and every transfer is published once",
    { timeout: 180_000 },
    async () => {
      const { signer, sent, state, send } = await traffic();
      const t = await ingestTopics();
      const env = childEnv(anvil.get(), t);
      const first = (await signer.provider.getBlockNumber()) + 1;
      const active = spawnIngester({ ...env, ATT_INGEST_FROM_BLOCK: String(first) });
      await active.waitForLog("Ingest lease acquired, active");
      const port = await freePort();
      const standby = spawnIngester({
        ...env,
        ATT_METRICS_PORT: String(port),
        ATT_METRICS_HOST: "127.0.0.1",
      });
      await standby.waitForLog("Another ingester is active, waiting as standby");
      await send(5);
      await waitForCheckpoint(t, state.lastBlock);
      // A healthy standby is ready (it can take over); its metrics say which role it has.
      const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(readyz.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/att_ingest_role\{role="standby"[^}]*\} 1/);
      expect(standby.logs.some((l) => l.msg === "Ingest lease acquired, active")).toBe(false);

      // The dead holder's lease lives at most one TTL after its last renewal, and the standby
      // tries once per poll; 10 s of slack covers a loaded 2-core CI machine (Kafka start-up
      // of the new producer and the checkpoint read included, for the first publish).
      const ttlMs = Number(env.ATT_INGEST_LEASE_TTL_MS);
      const pollMs = Number(env.ATT_INGEST_LEASE_POLL_MS);
      const boundMs = ttlMs + pollMs + 10_000;
      const killedAt = Date.now();
      await active.kill("SIGKILL");
      await send(1); // mined while nobody is active: its publication is the standby's first
      const tokenLog = await standby.waitForLog("Ingest lease acquired, active", { timeoutMs: 2 * boundMs });
      const leaseMs = (tokenLog.time as number) - killedAt;
      expect(tokenLog.fencing_token).toBe(2);
      await waitForCheckpoint(t, state.lastBlock, 2 * boundMs);
      const publishMs = Date.now() - killedAt;
      console.log(
        `standby takeover after SIGKILL: active after ${leaseMs} ms, first block published after ${publishMs} ms ` +
          `(bound ${boundMs} ms = lease TTL ${ttlMs} + poll ${pollMs} + 10000 slack)`,
      );
      expect(leaseMs).toBeLessThanOrEqual(boundMs);
      expect(publishMs).toBeLessThanOrEqual(boundMs);
      expect(standby.logs.some((l) => l.msg === "Resuming after the checkpoint")).toBe(true);
      await send(4);
      await waitForCheckpoint(t, state.lastBlock);

      const got = await readAllCommitted(t.transfers);
      expect(got.map((m) => m.tx.txHash).sort()).toEqual([...sent].sort());
    },
  );

  it(
    "on SIGTERM finishes cleanly: releases the lease for the standby and exits 0",
    { timeout: 120_000 },
    async () => {
      const { signer, state, send } = await traffic();
      const t = await ingestTopics();
      const env = childEnv(anvil.get(), t);
      const first = (await signer.provider.getBlockNumber()) + 1;
      const active = spawnIngester({
        ...env,
        ATT_INGEST_FROM_BLOCK: String(first),
        ATT_INGEST_LEASE_TTL_MS: "60000",
      });
      await active.waitForLog("Ingest lease acquired, active");
      const standby = spawnIngester({ ...env, ATT_INGEST_LEASE_TTL_MS: "60000" });
      await standby.waitForLog("Another ingester is active, waiting as standby");
      await send(2);
      await waitForCheckpoint(t, state.lastBlock);

      const exited = new Promise<number | null>((resolve) =>
        active.child.once("exit", (code) => resolve(code)),
      );
      active.child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(active.logs.map((l) => l.msg)).toEqual(
        expect.arrayContaining(["Ingest lease released", "Ingester stopped", "Shutdown complete"]),
      );
      // With a 60 s TTL, only the release explains a prompt take-over (the test would time out otherwise).
      await standby.waitForLog("Ingest lease acquired, active", { timeoutMs: 30_000 });
    },
  );

  it("a standby with the same ATT_INGEST_FROM_BLOCK takes over without publishing the blocks after it again", async () => {
    const { signer, sent, state, send } = await traffic();
    const t = await ingestTopics();
    const first = (await signer.provider.getBlockNumber()) + 1;
    // Both replicas run with one environment, as a Deployment's pods do.
    const options = ingestOptions(anvil.get(), t, { fromBlock: first });
    const active = startIngester(options);
    await waitFor(() => active.ingester.status().role === "active", "the first ingester to be active");
    const standby = startIngester(options);
    await waitFor(() => standby.ingester.status().role === "standby", "the second ingester to wait");
    await send(3);
    await waitForCheckpoint(t, state.lastBlock);

    await active.stop();
    await waitFor(() => standby.ingester.status().role === "active", "the standby to take over");
    await send(1);
    await waitForCheckpoint(t, state.lastBlock);
    expect((await readAllCommitted(t.transfers)).map((m) => m.tx.txHash)).toEqual(sent);
    expect(standby.logs.map((l) => l.msg)).toContain(
      "ATT_INGEST_FROM_BLOCK was already applied; resuming from the checkpoint",
    );
  });

  it("stops producing the moment its lease is taken, and resumes without a gap once it gets it back", async () => {
    const { signer, sent, state, send } = await traffic();
    const t = await ingestTopics();
    const first = (await signer.provider.getBlockNumber()) + 1;
    const running = startIngester(ingestOptions(anvil.get(), t, { fromBlock: first, leaseTtlMs: 1_000 }));
    await send(3);
    await waitForCheckpoint(t, state.lastBlock);

    // Another holder takes the key (as if our renewals had stalled past the TTL).
    const redis = new Redis(REDIS_URL);
    const key = `${t.redisPrefix}:ingest:31337:lease`;
    await redis.set(key, "someone-else", "PX", 60_000);
    await waitFor(() => running.ingester.status().role === "standby", "the ingester to step down");
    expect(running.logs.some((l) => l.msg === "Ingest lease lost, stopping production")).toBe(true);
    await send(3);
    expect(running.ingester.status().published?.number).toBeLessThan(state.lastBlock);

    await redis.del(key);
    redis.disconnect();
    await waitForCheckpoint(t, state.lastBlock);
    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => m.tx.txHash).sort()).toEqual([...sent].sort());
  });

  it("recovers when Redis lost the fencing counter (the checkpoint holds a higher token)", async () => {
    const { signer, sent, state, send } = await traffic();
    const t = await ingestTopics();
    const first = (await signer.provider.getBlockNumber()) + 1;
    for (let run = 0; run < 2; run++) {
      const r = startIngester(ingestOptions(anvil.get(), t, run === 0 ? { fromBlock: first } : {}));
      await send(1);
      await waitForCheckpoint(t, state.lastBlock);
      await r.stop();
    }
    expect((await waitForCheckpoint(t, state.lastBlock)).fencingToken).toBe(2);
    const redis = new Redis(REDIS_URL);
    await redis.del(`${t.redisPrefix}:ingest:31337:lease:fence`);
    redis.disconnect();

    const running = startIngester(ingestOptions(anvil.get(), t));
    await send(1);
    const cp = await waitForCheckpoint(t, state.lastBlock);
    expect(cp.fencingToken).toBeGreaterThan(2);
    expect(running.logs.some((l) => l.msg === "Another ingester took over; back to standby")).toBe(true);
    const got = await readAllCommitted(t.transfers);
    expect(got.map((m) => m.tx.txHash).sort()).toEqual([...sent].sort());
  });

  it("Kafka fences a zombie producer that still uses the same transactional id", async () => {
    const t = await ingestTopics();
    const logger = createLogger({ level: "silent" });
    const open = () =>
      openPublisher({
        kafka,
        transactionalId: t.transactionalId,
        topicTransfers: t.transfers,
        topicCheckpoint: t.checkpoint,
        logger,
      });
    const zombie = await open();
    const successor = await open();
    const cp = makeCheckpoint(
      31337,
      [{ number: 1, hash: `0x${"1".repeat(64)}`, txCount: 0, observedAt: 1 }],
      1,
    );
    try {
      await expect(zombie.commit([], cp)).rejects.toBeInstanceOf(ProducerFencedError);
      await expect(successor.commit([], cp)).resolves.toBeUndefined();
    } finally {
      await zombie.close();
      await successor.close();
    }
  });
});
