/**
 * Compression of the findings topic (issue 18): which codec att score should write with.
 *
 *   corpus    one att score (ATT_FINDINGS_COMPRESSION=none) over a pre-filled transfers topic;
 *             its committed findings, read back, are the corpus (real att findings: the bundled
 *             model's 45 features, explanations, both verdicts)
 *   offline   the corpus in record batches of --batch (167: a 1,000-transaction batch over 6
 *             partitions) encoded by the producer's own encoder (src/kernel/kafka/record-batch.ts)
 *             with each codec, interleaved, --reps times: stored bytes per finding, CPU per finding
 *             to compress (encode + CRC included) and to decompress
 *   e2e       --rounds rounds of one att score per codec over the same topic (order rotated per
 *             round): tx/s, att score's and the broker's CPU per transaction; medians, and the
 *             median of each round's ratio to "none"
 *
 * Reproduce (needs Kafka and Redis: deploy/local/stack.sh start):
 *   npx tsx bench/compression.ts [--quick] [--transactions 60000] [--rounds 3] [--batch 167] [--reps 5]
 * --quick: 10,000 transactions, 1 round, 2 reps. Results in bench/results/compression.json.
 */
import { createRequire } from "node:module";
import { CODECS, compressionType, type Codec } from "../src/kernel/kafka/compression.js";
import { uniqueName } from "../test/helpers/names.js";
import { seedEnrichmentCache, syntheticTxs, toKafkaMessages } from "../test/helpers/transfers.js";
import { closeBenchClients, openBenchClients, requireStack } from "./lib/clients.js";
import { benchArgs } from "./lib/args.js";
import { meanValueBytes, readFindings, type FindingRecord } from "./lib/e2e/corpus.js";
import type { ScorerTarget } from "./lib/e2e/scorers.js";
import { runScorers, type ScorerRunResult } from "./lib/e2e/throughput.js";
import { createTopics, highWatermarks, produceAll } from "./lib/kafka.js";
import { REPO } from "./lib/processes.js";
import { createProgress } from "./lib/progress.js";
import { finishReport, startReport, type BenchResult } from "./lib/results.js";
import { benchTable, fmt } from "./lib/table.js";

const args = benchArgs({ transactions: "string", rounds: "string", batch: "string", reps: "string" });
const QUICK = args.quick;
const N = args.num("transactions", QUICK ? 10_000 : 60_000);
const ROUNDS = args.num("rounds", QUICK ? 1 : 3);
const BATCH = args.num("batch", 167);
const REPS = args.num("reps", QUICK ? 2 : 5);
const PARTITIONS = 6;

const progress = createProgress("compression", 4 + ROUNDS);
const report = startReport(
  "compression",
  "Findings compression: bytes, CPU and tx/s per codec",
  `npx tsx bench/compression.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  QUICK,
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// The producer's encoders as kafkajs calls them (src/kernel/kafka/record-batch.ts in their place).
const require = createRequire(import.meta.url);
type RecordFn = (r: object) => unknown;
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as RecordFn;
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch: (b: object) => Promise<{ buffer: Buffer }>;
};
const { lookupCodec } = require("kafkajs/src/protocol/message/compression/index.js") as {
  lookupCodec(t: number): { decompress(b: Buffer): Promise<Buffer> } | null;
};
const HEADER_BYTES = 61;

interface Offline {
  codec: Codec;
  bytesPerFinding: number;
  compressUs: number;
  decompressUs: number;
}

async function offline(corpus: FindingRecord[]): Promise<Offline[]> {
  const batches: FindingRecord[][] = [];
  for (let i = 0; i < corpus.length; i += BATCH) batches.push(corpus.slice(i, i + BATCH));
  const samples = new Map<Codec, { bytes: number; cpu: number[]; de: number[] }>(
    CODECS.map((c) => [c, { bytes: 0, cpu: [], de: [] }]),
  );
  for (let rep = 0; rep < REPS; rep++) {
    for (const codec of rep % 2 ? [...CODECS].reverse() : CODECS) {
      const type = compressionType(codec);
      const s = samples.get(codec)!;
      const encoded: Buffer[] = [];
      const c0 = process.cpuUsage();
      for (const b of batches) {
        const records = b.map((r, i) =>
          Record({ key: r.key, value: r.value, headers: r.headers, offsetDelta: i }),
        );
        encoded.push(
          (await RecordBatch({ compression: type, records, lastOffsetDelta: b.length - 1 })).buffer,
        );
      }
      const c1 = process.cpuUsage(c0);
      s.cpu.push((c1.user + c1.system) / corpus.length);
      s.bytes = encoded.reduce((a, e) => a + e.length, 0) / corpus.length;
      const codecImpl = lookupCodec(type);
      const d0 = process.cpuUsage();
      if (codecImpl) for (const e of encoded) await codecImpl.decompress(e.subarray(HEADER_BYTES));
      const d1 = process.cpuUsage(d0);
      s.de.push((d1.user + d1.system) / corpus.length);
      progress.update(`offline rep ${rep + 1}/${REPS}: ${codec}`);
    }
  }
  return CODECS.map((codec) => {
    const s = samples.get(codec)!;
    return { codec, bytesPerFinding: s.bytes, compressUs: median(s.cpu), decompressUs: median(s.de) };
  });
}

async function main(): Promise<void> {
  await requireStack("compression");
  const tag = uniqueName("bench-compression");
  const transfers = `${tag}-transfers`;
  const dlq = `${tag}-dlq`;
  const outputs: string[] = [];
  const clients = await openBenchClients("att-bench-compression");
  const { kafka, admin, producer, redis, rss } = clients;
  Object.assign(report.settings, {
    transactions: N,
    rounds: ROUNDS,
    batch: BATCH,
    reps: REPS,
    partitions: PARTITIONS,
  });
  try {
    progress.phase(`generating and producing ${N.toLocaleString("en-US")} transactions`);
    const txs = syntheticTxs(N, { seed: 1802, senders: 5000 });
    await seedEnrichmentCache(redis, tag, txs);
    await createTopics(admin, [
      { topic: transfers, partitions: PARTITIONS },
      { topic: dlq, partitions: 1 },
    ]);
    await produceAll(producer, transfers, toKafkaMessages(txs));
    const total = [...(await highWatermarks(admin, transfers)).values()].reduce((a, b) => a + b, 0n);

    const run = async (label: string, codec: Codec): Promise<ScorerRunResult> => {
      const findings = `${tag}-out-${label}`;
      outputs.push(findings);
      await createTopics(admin, [{ topic: findings, partitions: PARTITIONS }]);
      const target: ScorerTarget = {
        transfers,
        findings,
        dlq,
        group: uniqueName(`bench-compression-${label}`),
        redisPrefix: tag,
      };
      return runScorers(admin, target, total, {
        dist: false,
        env: { ATT_FINDINGS_COMPRESSION: codec },
        processes: 1,
        progress,
        rss,
        label: `compression-${label}`,
      });
    };

    progress.phase("corpus: att score with ATT_FINDINGS_COMPRESSION=none, its findings read back");
    await run("corpus", "none");
    const corpus = await readFindings(kafka, outputs[0]!, Math.min(N, 30_000), 60_000);
    progress.note(`corpus: ${corpus.length} findings, ${fmt(meanValueBytes(corpus))} B mean value`);

    progress.phase(
      `offline: ${Math.ceil(corpus.length / BATCH)} batches of ${BATCH} per codec, ${REPS} reps`,
    );
    const off = await offline(corpus);

    const e2e: { round: number; codec: Codec; run: ScorerRunResult }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress.phase(`e2e round ${round}/${ROUNDS}: one att score per codec`);
      const k = (round - 1) % CODECS.length;
      for (const codec of [...CODECS.slice(k), ...CODECS.slice(0, k)]) {
        const r = await run(`r${round}-${codec}`, codec);
        e2e.push({ round, codec, run: r });
        progress.note(`round ${round}, ${codec}: ${fmt(r.txPerS)} tx/s`);
      }
    }

    const cpuOf = (r: ScorerRunResult, label: RegExp) =>
      (r.cpu.filter((c) => label.test(c.label)).reduce((a, c) => a + c.seconds, 0) / N) * 1e6;
    const rows = CODECS.map((codec) => {
      const o = off.find((x) => x.codec === codec)!;
      const runs = e2e.filter((x) => x.codec === codec);
      const ratio = median(
        runs.map(
          (x) => x.run.txPerS / e2e.find((y) => y.round === x.round && y.codec === "none")!.run.txPerS,
        ),
      );
      return {
        ...o,
        txPerS: median(runs.map((x) => x.run.txPerS)),
        ratioToNone: ratio,
        scorerCpuUs: median(runs.map((x) => cpuOf(x.run, /att score/))),
        brokerCpuUs: median(runs.map((x) => cpuOf(x.run, /Kafka broker/))),
      };
    });
    const none = rows.find((r) => r.codec === "none")!;
    const results: BenchResult[] = [];
    for (const r of rows) {
      results.push(
        {
          name: `${r.codec}: stored bytes per finding (batches of ${BATCH})`,
          value: r.bytesPerFinding,
          unit: "B",
          ...(r.codec !== "none"
            ? {
                baseline: { name: "none", value: none.bytesPerFinding },
                ratio: r.bytesPerFinding / none.bytesPerFinding,
              }
            : {}),
        },
        {
          name: `${r.codec}: CPU per finding to encode (record batch + codec + CRC)`,
          value: r.compressUs,
          unit: "µs",
        },
        { name: `${r.codec}: CPU per finding to decompress`, value: r.decompressUs, unit: "µs" },
        {
          name: `${r.codec}: att score tx/s (median of ${ROUNDS})`,
          value: r.txPerS,
          unit: "tx/s",
          ...(r.codec !== "none"
            ? { baseline: { name: "none, same rounds", value: none.txPerS }, ratio: r.ratioToNone }
            : {}),
        },
        { name: `${r.codec}: att score CPU per transaction`, value: r.scorerCpuUs, unit: "µs" },
        { name: `${r.codec}: broker CPU per transaction`, value: r.brokerCpuUs, unit: "µs" },
      );
    }
    report.results = results;
    report.memory = [{ process: "att score", peakRssMiB: Math.max(...e2e.flatMap((x) => x.run.peakRssMiB)) }];
    report.notes.push(
      `Corpus: ${corpus.length} findings written by att score over synthetic traffic (${fmt(meanValueBytes(corpus))} B mean JSON); offline figures are medians of ${REPS} interleaved reps in this process, e2e figures medians of ${ROUNDS} rotated rounds.`,
    );
    report.details = { offline: off, rows, e2e };
    const path = finishReport(report);
    console.log("");
    console.log(
      benchTable(
        [
          "codec",
          "B/finding",
          "× none",
          "encode µs",
          "decompress µs",
          "tx/s",
          "× none (rounds)",
          "att CPU µs/tx",
          "broker CPU µs/tx",
        ],
        rows.map((r) => [
          r.codec,
          fmt(r.bytesPerFinding),
          fmt(r.bytesPerFinding / none.bytesPerFinding),
          fmt(r.compressUs),
          fmt(r.decompressUs),
          fmt(r.txPerS),
          fmt(r.ratioToNone),
          fmt(r.scorerCpuUs),
          fmt(r.brokerCpuUs),
        ]),
      ),
    );
    console.log(`\nwritten ${path.replace(REPO, "")}`);
  } finally {
    await closeBenchClients(clients, [transfers, dlq, ...outputs], tag);
  }
}

await main();
