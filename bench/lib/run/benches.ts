import { readdirSync } from "node:fs";

/**
 * Every benchmark of the project, in the order `npm run bench` runs them. Each is a script
 * `bench/<file>` run as `npx tsx bench/<file> [--quick]` that writes bench/results/<name>.json.
 */
export interface BenchSpec {
  name: string;
  file: string;
  title: string;
  owner: string;
  /** What the issue asks this benchmark to show. */
  shows: string;
}

const KNOWN: BenchSpec[] = [
  {
    name: "scoring",
    file: "scoring.ts",
    title: "Scoring engine",
    owner: "model",
    shows:
      "rows/s at batch 1/32/256/4096 against scikit-learn score_samples and the skl2onnx graph; explanation cost per row",
  },
  {
    name: "features",
    file: "features.ts",
    title: "Features (warm caches)",
    owner: "features",
    shows: "tx/s of enrichment + feature extraction with warm caches against the extractor alone",
  },
  {
    name: "ingest-backfill",
    file: "ingest-backfill.ts",
    title: "Ingest backfill",
    owner: "ingest",
    shows: "blocks/s and transfers/s from a local anvil into Kafka against a raw fetch loop",
  },
  {
    name: "enrichment",
    file: "enrichment.ts",
    title: "Enrichment API calls",
    owner: "bench",
    shows: "API calls per 1,000 transactions with cold and warm caches; peak request rate against the limit",
  },
  {
    name: "backpressure",
    file: "backpressure.ts",
    title: "Backpressure (att score memory with a backlog)",
    owner: "score",
    shows: "peak RSS of att score draining a large backlog against a small one",
  },
  {
    name: "byom",
    file: "byom.ts",
    title: "Bring your own model (every estimator kind)",
    owner: "model",
    shows:
      "rows/s at batch 256 for each model kind through our engine against its own scikit-learn predict_proba / score_samples in the same run",
  },
  {
    name: "compression",
    file: "compression.ts",
    title: "Findings compression",
    owner: "sink",
    shows:
      "bytes and CPU per finding for none/gzip/lz4/zstd on att score's own findings, and att score tx/s per codec",
  },
  {
    name: "pipe",
    file: "pipe.ts",
    title: "att score beside a bare kafkajs transactional pipe",
    owner: "sink",
    shows:
      "tx/s of att score against a bare kafkajs transactional pipe writing records of the same size with the same codec, in interleaved rounds; CPU per transaction by area",
  },
  {
    name: "failover",
    file: "failover.ts",
    title: "Failover (join, SIGTERM, SIGKILL)",
    owner: "score",
    shows:
      "longest gap between findings per partition and p99 latency around a join, a SIGTERM and a SIGKILL at a steady rate, against a quiet window of the same run",
  },
  {
    name: "scaling",
    file: "scaling.ts",
    title: "Scaling per core (cgroup-capped processes)",
    owner: "score",
    shows:
      "tx/s and efficiency of 1-4 att score processes each capped at 0.3 CPU, with broker CPU per step and the step where the broker becomes the bound",
  },
  {
    name: "e2e",
    file: "e2e.ts",
    title: "End to end (score stage)",
    owner: "bench",
    shows:
      "tx/s from a pre-filled topic to committed findings with one and two att score processes against a raw consume; latency p50/p95/p99 at 200 tx/s",
  },
];

/**
 * The known benchmarks in their order, then any other `bench/*.ts` (a benchmark added later
 * runs without being listed here; its title is its name). A known one whose file is missing is
 * kept, so that the run can say it is not built yet.
 */
export function discoverBenches(benchDir: string): BenchSpec[] {
  const files = readdirSync(benchDir).filter((f) => f.endsWith(".ts") && f !== "run.ts");
  const extra = files
    .filter((f) => !KNOWN.some((k) => k.file === f))
    .sort()
    .map((file) => {
      const name = file.replace(/\.ts$/, "");
      return { name, file, title: name, owner: "?", shows: "see the script's header" };
    });
  const e2e = KNOWN.findIndex((k) => k.name === "e2e");
  return [...KNOWN.slice(0, e2e), ...extra, ...KNOWN.slice(e2e)];
}
