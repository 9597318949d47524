import { describe, expect, it } from "vitest";
import { connectAnvil, deployErc20, type AnyContract } from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";
import {
  childEnv,
  ingestTopics,
  readAllCommitted,
  spawnIngester,
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
});
