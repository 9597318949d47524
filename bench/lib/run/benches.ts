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

export const BENCHES: BenchSpec[] = [
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
    name: "e2e",
    file: "e2e.ts",
    title: "End to end (score stage)",
    owner: "bench",
    shows:
      "tx/s from a pre-filled topic to committed findings with one and two att score processes against a raw consume; latency p50/p95/p99 at 200 tx/s",
  },
];
