import { isDeepStrictEqual } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { sleep } from "../../src/kernel/shutdown.js";
import { parseTokenTransferTx, type TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { decodeCheckpoint } from "../../src/ingest/checkpoint.js";
import { extractTokenTransferTxs } from "../../src/ingest/extract.js";
import type { FetchedBlock } from "../../src/ingest/types.js";
import { startAnvil, type TestAnvil } from "../helpers/anvil.js";
import { consoleConsume } from "../helpers/kafka-cli.js";
import { spawnAtt, type AttProcess } from "../helpers/processes.js";
import { checkpointOf, childEnv, ingestTopics, waitFor, waitForCheckpoint } from "../ingest-harness.js";
import { reportFault } from "./harness.js";

/**
 * `att ingest` is SIGKILLed twice while `att simulate` sends token traffic, and restarted each
 * time with the same environment (as a supervisor does). The truth is the chain itself: every
 * transaction of every block up to the final checkpoint that has an ERC-20 Transfer log, read
 * from the node with eth_getBlockReceipts, must be on the transfers topic exactly once and
 * nothing else may be — counted with Kafka's own console consumer (read_committed), so the check
 * does not rest on our Kafka client.
 */

const TRAFFIC_S = 25;
const RATE = 20;
const CONFIRMATIONS = 2;

const between = (lo: number, hi: number) => Math.round(lo + Math.random() * (hi - lo));
const hex = (n: number) => `0x${n.toString(16)}`;

interface RpcReceipt {
  transactionHash: string;
  transactionIndex: string;
  blockHash: string;
  from: string;
  to: string | null;
  logs: { address: string; topics: string[]; data: string; logIndex: string }[];
}

/**
 * What the ingester should have published for blocks 1..`last`, from the node's own answers
 * (block header + eth_getBlockReceipts), through the same pure Transfer rule the ingester uses
 * (src/ingest/extract.ts); keyed by txHash + blockHash, observedAt left out.
 */
async function chainTruth(anvil: TestAnvil, last: number): Promise<Map<string, TokenTransferTx>> {
  const truth = new Map<string, TokenTransferTx>();
  for (let n = 1; n <= last; n++) {
    const [header, receipts] = await Promise.all([
      anvil.rpc<{ hash: string; parentHash: string; timestamp: string }>("eth_getBlockByNumber", [
        hex(n),
        false,
      ]),
      anvil.rpc<RpcReceipt[]>("eth_getBlockReceipts", [hex(n)]),
    ]);
    const block: FetchedBlock = {
      number: n,
      hash: header.hash.toLowerCase(),
      parentHash: header.parentHash.toLowerCase(),
      timestamp: Number(header.timestamp),
      transactions: receipts.map((r) => ({
        hash: r.transactionHash.toLowerCase(),
        index: Number(r.transactionIndex),
        from: r.from.toLowerCase(),
        to: r.to === null ? null : r.to.toLowerCase(),
      })),
      logs: receipts.flatMap((r) =>
        r.logs.map((l) => ({
          address: l.address,
          topics: l.topics,
          data: l.data,
          logIndex: Number(l.logIndex),
          transactionHash: r.transactionHash,
          transactionIndex: Number(r.transactionIndex),
        })),
      ),
    };
    for (const tx of extractTokenTransferTxs(block, { chainId: 31337, observedAt: 0 }).txs)
      truth.set(`${tx.txHash}@${tx.blockHash}`, tx);
  }
  return truth;
}

/** The JSON log lines a child printed (the CLI logs JSON on stdout). */
function logLines(p: AttProcess): Record<string, unknown>[] {
  return p
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("fault: the ingester is SIGKILLed during live chain traffic", () => {
  it(
    "publishes every chain transaction with an ERC-20 transfer exactly once across two kill -9 restarts, nothing else",
    { timeout: 150_000 },
    async () => {
      const started = Date.now();
      // A private chain with automine: a block per transaction, so the ingester commits many
      // times a second and a kill lands in the middle of its work. (Not --block-time 0.5: att
      // simulate pauses mining for its setup and restores it from anvil_getIntervalMining, which
      // reports whole seconds, 0 for 0.5 s, so the chain would never mine again.)
      const anvil = await startAnvil();
      onTestFinished(() => anvil.stop());
      const t = await ingestTopics();
      const env = childEnv(anvil, t, {
        ATT_INGEST_CONFIRMATIONS: String(CONFIRMATIONS),
        // A supervisor's environment, the same at every start: applied once, then resumed.
        ATT_INGEST_FROM_BLOCK: "1",
        ATT_METRICS_PORT: "0",
        ATT_LOG_LEVEL: "info",
      });
      let starts = 0;
      const startIngester = async () => {
        const p = spawnAtt(`${t.transactionalId}-${++starts}`, ["ingest"], env);
        await p.waitFor(/"msg":"Ingest lease acquired, active"/, 60_000);
        const lease = logLines(p).find((l) => l.msg === "Ingest lease acquired, active")!;
        return { p, fencingToken: lease.fencing_token as number };
      };
      /** Waits until this incarnation has committed (its fencing token is in the checkpoint). */
      const published = (fencingToken: number) =>
        waitFor(
          async () => ((await checkpointOf(t).catch(() => undefined))?.fencingToken ?? 0) >= fencingToken,
          `a commit with fencing token ${fencingToken}`,
          60_000,
        );

      const a = await startIngester();
      const sim = spawnAtt(
        `${t.transactionalId}-simulate`,
        [
          "simulate",
          "--rpc",
          anvil.httpUrl,
          "--accounts",
          "50",
          "--rate",
          String(RATE),
          "--duration",
          String(TRAFFIC_S),
        ],
        { ATT_LOG_LEVEL: "info" },
      );
      await sim.waitFor(/"msg":"Tokens deployed"/, 60_000);

      // First kill: a random moment of the traffic, once the first ingester has published.
      const firstDelay = between(3000, 7000);
      await published(a.fencingToken);
      await sleep(firstDelay);
      await a.p.kill("SIGKILL");
      const b = await startIngester();
      // Second kill: a random moment after the restarted one has published again.
      await published(b.fencingToken);
      const secondDelay = between(500, 3000);
      await sleep(secondDelay);
      expect(sim.child.exitCode, "the second kill falls within the traffic").toBeNull();
      await b.p.kill("SIGKILL");
      const restartedAt = Date.now();
      const c = await startIngester();

      expect(await sim.exited, sim.output()).toBe(0);
      await waitFor(
        async () => {
          const pool = await anvil.rpc<{ pending: string; queued: string }>("txpool_status");
          return Number(pool.pending) + Number(pool.queued) === 0;
        },
        "the pool to drain",
        15_000,
      );
      const lastTrafficBlock = Number(await anvil.rpc<string>("eth_blockNumber"));
      // Empty blocks that carry the confirmation depth past the last transfer.
      await anvil.rpc("anvil_mine", [hex(CONFIRMATIONS)]);
      await waitForCheckpoint(t, lastTrafficBlock, 60_000);
      // Stopped cleanly, so that the range compared below is fixed.
      expect(await c.p.kill("SIGTERM"), c.p.output().slice(-2000)).toBe(0);
      const final = (await checkpointOf(t))!;
      expect(final.fencingToken).toBe(c.fencingToken);

      const truth = await chainTruth(anvil, final.blockNumber);
      const records = await consoleConsume({
        topic: t.transfers,
        readCommitted: true,
        timeoutMs: 10_000,
        expected: truth.size,
        settleMs: 2000,
      });
      const messages = records.map((r) => parseTokenTransferTx(r.value));

      // Per txHash + blockHash: published adds minus removals. A canonical transaction must be
      // added exactly once and never removed; one of an orphaned block (none with anvil's
      // interval mining, but a reorg would be no fault) must be retracted as often as added.
      const adds = new Map<string, number>();
      const removes = new Map<string, number>();
      for (const m of messages) {
        const k = `${m.txHash}@${m.blockHash}`;
        const into = m.removed ? removes : adds;
        into.set(k, (into.get(k) ?? 0) + 1);
      }
      const missing = [...truth.keys()].filter((k) => !adds.has(k));
      const duplicates = [...adds.entries()].filter(([k]) => truth.has(k)).reduce((s, [, n]) => s + n - 1, 0);
      const canonicalRemoved = [...removes.keys()].filter((k) => truth.has(k));
      const extra = [...adds.entries()]
        .filter(([k, n]) => !truth.has(k) && n !== (removes.get(k) ?? 0))
        .map(([k]) => k);
      // Each published transaction is the chain's, field by field (observedAt is the ingester's clock).
      const differing = messages
        .filter((m) => !m.removed && truth.has(`${m.txHash}@${m.blockHash}`))
        .filter((m) => {
          const want = truth.get(`${m.txHash}@${m.blockHash}`)!;
          return !isDeepStrictEqual({ ...m, observedAt: 0 }, want);
        })
        .map((m) => m.txHash);

      // Recovery: from the second restart to the first commit of the incarnation started then
      // (every Kafka transaction carries a checkpoint with the writer's fencing token).
      const checkpoints = (
        await consoleConsume({ topic: t.checkpoint, readCommitted: true, timeoutMs: 5000 })
      )
        .filter((r) => r.key === "31337" && r.value !== null)
        .map((r) => decodeCheckpoint(r.value!));
      const writers = new Set(checkpoints.map((cp) => cp.fencingToken));
      const firstOfC = checkpoints.find((cp) => cp.fencingToken === c.fencingToken);
      const recoverySec = firstOfC ? (firstOfC.updatedAt - restartedAt) / 1000 : Number.NaN;

      const summary = JSON.parse(
        sim
          .output()
          .split("\n")
          .filter((l) => l.includes('"byKind"'))
          .pop()!,
      ) as { seed: number; sent: number; rejected: number };
      expect(truth.size, "enough traffic to mean something").toBeGreaterThanOrEqual(150);
      expect(missing).toEqual([]);
      expect(duplicates).toBe(0);
      expect(extra).toEqual([]);
      expect(canonicalRemoved).toEqual([]);
      expect(differing).toEqual([]);
      expect([...writers].sort()).toEqual([a.fencingToken, b.fencingToken, c.fencingToken]);
      expect(recoverySec).toBeGreaterThan(0);

      reportFault({
        case: "ingester SIGKILL ×2 during live chain traffic (anvil automine, att simulate), restarted with the same env",
        n: truth.size,
        findings: messages.length,
        duplicates,
        missing: missing.length,
        dlq: 0,
        recoverySec,
        countedBy: "kafka-console-consumer",
        note:
          `no score stage: findings = messages on the transfers topic, n = chain transactions with ` +
          `ERC-20 transfers in blocks 1..${final.blockNumber} (eth_getBlockReceipts); ` +
          `${summary.sent} sent by att simulate (seed ${summary.seed}); kills ${firstDelay} ms into the ` +
          `traffic and ${secondDelay} ms after the restart's first commit; ` +
          `${messages.filter((m) => m.removed).length} removed, ${extra.length} extra, ` +
          `confirmations ${CONFIRMATIONS}; ingester has no DLQ; wall ${((Date.now() - started) / 1000).toFixed(0)} s`,
      });
    },
  );
});
