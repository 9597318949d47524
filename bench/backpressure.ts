/**
 * Backpressure of `att score`: resident memory while it works through a large backlog, against
 * the same process on a small backlog in the same run. kafkajs fetches the next batch only after
 * the current one is committed, and a fetch is bounded by ATT_SCORE_MAX_BYTES(_PER_PARTITION), so
 * memory should not depend on how much is waiting.
 *
 *   npx tsx bench/backpressure.ts [--quick]        (full: 1,000,000 waiting; quick: 200,000)
 *
 * Needs the local stack (deploy/local/stack.sh start) and `npm run build` (runs dist/cli.js).
 * Writes bench/results/backpressure.json.
 */
import { existsSync, writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import {
  senderAddress,
  seedEnrichmentCache,
  syntheticTxs,
  toKafkaMessages,
} from "../test/helpers/transfers.js";
import { uniqueName } from "../test/helpers/names.js";
import { kafkajsClient } from "../test/helpers/kafka-clients.js";
import { KAFKA_BROKERS, REDIS_URL } from "../test/helpers/services.js";
import { committedTotal, createTopics } from "./lib/kafka.js";
import { describeMachine, load } from "./lib/machine.js";
import { spawnChild } from "../test/helpers/child-process.js";
import { BENCH_LOG_DIR } from "./lib/processes.js";
import { readRss } from "./lib/rss.js";
import { benchArgs } from "./lib/args.js";
import { RESULTS_DIR } from "./lib/results.js";
import { createProgress } from "./lib/progress.js";

const QUICK = benchArgs({}).quick;
const BIG = QUICK ? 200_000 : 1_000_000;
const SMALL = 20_000;
const RUN_SECONDS = QUICK ? 20 : 45;
const SENDERS = 2000;
const bar = createProgress("backpressure", 2);
const progress = (s: string) => bar.update(s);

async function fill(topic: string, n: number): Promise<void> {
  const producer = kafkajsClient({ clientId: "att-bench" }).producer();
  await producer.connect();
  const chunk = 2000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += chunk) {
    // Generated per chunk: the driver never holds the backlog in memory either.
    const txs: TokenTransferTx[] = syntheticTxs(Math.min(chunk, n - i), {
      seed: 1 + i / chunk,
      senders: SENDERS,
    });
    inflight.push(producer.send({ topic, messages: toKafkaMessages(txs) }));
    if (inflight.length >= 4) await inflight.shift();
    if (i % 50_000 === 0) progress(`filling ${topic}: ${i.toLocaleString()} / ${n.toLocaleString()}`);
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

interface Sample {
  t: number;
  rssMiB: number;
  committed: number;
}

async function run(
  label: string,
  backlog: number,
): Promise<{ label: string; backlog: number; samples: Sample[]; peakMiB: number; committed: number }> {
  const admin = kafkajsClient({ clientId: "att-bench" }).admin();
  await admin.connect();
  const transfers = uniqueName("bp-transfers");
  const findings = uniqueName("bp-findings");
  const dlq = uniqueName("bp-dlq");
  const group = uniqueName("bp");
  await createTopics(admin, [
    { topic: transfers, partitions: 6 },
    { topic: findings, partitions: 6 },
    { topic: dlq, partitions: 1 },
  ]);
  const prefix = uniqueName("bp");
  const redis = new Redis(REDIS_URL);
  const senders = Array.from({ length: SENDERS }, (_, i) => ({ from: senderAddress(i) }) as TokenTransferTx);
  await seedEnrichmentCache(redis, prefix, senders);
  await fill(transfers, backlog);
  const child = spawnChild(`backpressure-${label}`, process.execPath, ["dist/cli.js", "score"], {
    logDir: BENCH_LOG_DIR,
    env: {
      ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      ATT_REDIS_URL: REDIS_URL,
      ATT_REDIS_PREFIX: prefix,
      ATT_TOPIC_TRANSFERS: transfers,
      ATT_TOPIC_FINDINGS: findings,
      ATT_TOPIC_DLQ: dlq,
      ATT_SCORE_GROUP_ID: group,
      ATT_SCORE_TRANSACTIONAL_ID_PREFIX: group,
      ATT_METRICS_PORT: "0",
      ATT_LOG_LEVEL: "warn",
    },
  });
  const samples: Sample[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < RUN_SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const rss = child.pid ? readRss(child.pid) : undefined;
    const committed = Number(await committedTotal(admin, group, transfers));
    if (rss) samples.push({ t: (Date.now() - t0) / 1000, rssMiB: rss.currentMiB, committed });
    progress(
      `${label}: ${Math.round((Date.now() - t0) / 1000)} s, RSS ${rss?.currentMiB.toFixed(0)} MiB, committed ${committed.toLocaleString()} of ${backlog.toLocaleString()}`,
    );
    if (committed >= backlog) break;
  }
  const peakMiB =
    (child.pid ? readRss(child.pid)?.peakMiB : undefined) ?? Math.max(...samples.map((s) => s.rssMiB));
  await child.stop("SIGTERM", 30_000);
  const committed = Number(await committedTotal(admin, group, transfers));
  await admin.deleteTopics({ topics: [transfers, findings, dlq] }).catch(() => undefined);
  await admin.disconnect();
  redis.disconnect();
  return { label, backlog, samples, peakMiB, committed };
}

if (!existsSync("dist/cli.js")) {
  console.error("bench/backpressure: run `npm run build` first (it runs dist/cli.js)");
  process.exit(1);
}
const before = load();
bar.phase(`att score draining ${SMALL.toLocaleString()} waiting`);
const small = await run("small backlog", SMALL);
bar.phase(`att score draining ${BIG.toLocaleString()} waiting`);
const big = await run("large backlog", BIG);
const rows = [small, big].map((r) => {
  const late = r.samples.filter((s) => s.t >= r.samples[r.samples.length - 1]!.t / 2);
  return {
    run: r.label,
    waiting: r.backlog,
    committed: r.committed,
    peakMiB: Math.round(r.peakMiB),
    secondHalfMaxMiB: Math.round(Math.max(...late.map((s) => s.rssMiB))),
  };
});
const ratio = big.peakMiB / small.peakMiB;
console.log("\natt score resident memory against the backlog waiting (same run)\n");
console.log("run              waiting     committed  peak RSS MiB  2nd-half max MiB");
for (const r of rows)
  console.log(
    `${r.run.padEnd(16)} ${String(r.waiting).padStart(9)} ${String(r.committed).padStart(12)} ${String(r.peakMiB).padStart(13)} ${String(r.secondHalfMaxMiB).padStart(17)}`,
  );
console.log(
  `\npeak RSS, ${BIG.toLocaleString()} waiting vs ${SMALL.toLocaleString()} waiting: ${ratio.toFixed(2)}×`,
);
const result = {
  bench: "backpressure",
  title: "att score memory with a large backlog against a small one",
  command: `npx tsx bench/backpressure.ts${QUICK ? " --quick" : ""}`,
  date: new Date().toISOString(),
  quick: QUICK,
  machine: describeMachine(),
  load: { before, after: load() },
  results: [
    { name: `peak RSS with ${SMALL.toLocaleString()} waiting`, value: small.peakMiB, unit: "MiB" },
    {
      name: `peak RSS with ${BIG.toLocaleString()} waiting`,
      value: big.peakMiB,
      unit: "MiB",
      baseline: { name: `${SMALL.toLocaleString()} waiting`, value: small.peakMiB },
      ratio,
    },
  ],
  runs: [small, big],
};
writeFileSync(`${RESULTS_DIR}backpressure.json`, JSON.stringify(result, null, 1));
