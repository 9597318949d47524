import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./processes.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  /** `function (file:line)`, paths relative to the repository. */
  frame: string;
  ms: number;
  /** Share of the profile's non-idle time. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  topFunctions: SelfTime[];
  /** Self time grouped by where the code lives: src/<dir>, node_modules/<pkg>, node:internal, (gc)… */
  byArea: SelfTime[];
  /** The project's own functions (src/, dist/) by total time: their own plus everything they call. */
  inclusive: SelfTime[];
}

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, "")
    .replace(REPO, "")
    .replace(/^.*node_modules\//, "node_modules/");

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const u = shortUrl(url);
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (pkg) return `node_modules/${pkg[1]}`;
  if (u.startsWith("node:")) return u.split("/")[0]!.replace(/^node:internal.*/, "node:internal");
  const src = /^((?:src|dist)\/[^/]+)\//.exec(u);
  return src ? src[1]! : u;
}

/** Self time per function and per area of a V8 .cpuprofile (`node --cpu-prof`). */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    const frame = url
      ? `${functionName || "(anonymous)"} (${shortUrl(url)}:${lineNumber + 1})`
      : functionName || "(anonymous)";
    fns.set(frame, (fns.get(frame) ?? 0) + us);
    const a = areaOf(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - idle || 1;
  // Inclusive time of the project's own frames: each sample counts once per distinct frame on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frameOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"} (${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1})`;
  const own = (n: ProfileNode) => /^(src|dist)\//.test(shortUrl(n.callFrame.url));
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (!own(n)) continue;
      const f = frameOf(n);
      if (seen.has(f)) continue;
      seen.add(f);
      incl.set(f, (incl.get(f) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([frame, us]) => ({ frame, ms: Math.round(us / 100) / 10, share: us / busy }));
  return {
    file: shortUrl(file),
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    topFunctions: rank(fns, top),
    byArea: rank(areas, 12),
    inclusive: rank(incl, top),
  };
}

/**
 * The .cpuprofile files in `dir`, largest first: a process writes one per thread (under tsx
 * also one for its module-loader thread), and the main thread's is the largest.
 */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size);
  } catch {
    return [];
  }
}

/**
 * The areas of the score stage's work (issue 18's breakdown), each a rule on a stack frame's file.
 * A sample counts for the first frame from its leaf upwards that a rule claims, so a builtin
 * (JSON.stringify, Buffer.write) counts for the code that called it. Order matters: decoders
 * before the rest of kafkajs, the record encoders before the Kafka boundary.
 */
const AREAS: { area: string; test: RegExp }[] = [
  {
    area: "Kafka fetch + decode (kafkajs)",
    test: /kafkajs\/src\/(protocol\/(decoder|.*\/decoder|requests\/fetch)|consumer)/,
  },
  {
    area: "Kafka record encoding + CRC + compression",
    test: /kafkajs\/src\/protocol\/(encoder|recordBatch|message\/compression|requests\/produce)|src\/kernel\/kafka\/(crc32c|record-batch|compression)|lz4-napi|mongodb-js\/zstd/,
  },
  { area: "Kafka client, other (kafkajs network, producer, protocol)", test: /kafkajs\// },
  {
    area: "findings: build + serialize (src/sink, contracts/finding)",
    test: /src\/sink\/|src\/contracts\/(finding|dlq)/,
  },
  {
    area: "input JSON parse + validation (zod)",
    test: /src\/contracts\/token-transfer-tx|node_modules\/zod\//,
  },
  { area: "features", test: /src\/features\// },
  {
    area: "enrichment cache / Redis (ioredis)",
    test: /src\/enrich\/|node_modules\/ioredis|node_modules\/redis-parser/,
  },
  { area: "model (onnxruntime, explanations)", test: /src\/model\/|onnxruntime/ },
  { area: "metrics + logs", test: /prom-client|pino|src\/score\/metrics|src\/kernel\/(metrics|logger)/ },
  { area: "Kafka boundary (src/kernel/kafka)", test: /src\/kernel\/kafka\// },
  { area: "score stage (consumer, processor)", test: /src\/score\// },
];

export interface AreaTime {
  area: string;
  ms: number;
  /** Share of the profile's busy (non-idle) time. */
  share: number;
}

/** Busy time of a .cpuprofile by area of the score stage's work (AREAS; GC and V8 apart), largest first. */
export function areaBreakdown(file: string): { busyMs: number; areas: AreaTime[] } {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areaOfNode = new Map<number, string>();
  const classify = (id: number): string => {
    const known = areaOfNode.get(id);
    if (known) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    let area =
      leaf === "(garbage collector)" ? "garbage collection" : leaf === "(program)" ? "V8 (program)" : "";
    let loading = false;
    let internal = false;
    for (let cur: number | undefined = id; !area && cur !== undefined; cur = parent.get(cur)) {
      const url = shortUrl(byId.get(cur)!.callFrame.url);
      if (!url) continue;
      area = AREAS.find((a) => a.test.test(url))?.area ?? "";
      loading ||= /^node:internal\/modules|node_modules\/tsx\//.test(url);
      internal ||= url.startsWith("node:");
    }
    // Below no frame of ours or of a package: node's own work, loading modules apart (start-up).
    area ||= loading
      ? "start-up: loading and compiling modules"
      : internal
        ? "node internals (sockets, streams, timers)"
        : "other";
    areaOfNode.set(id, area);
    return area;
  };
  const areas = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    const us = p.timeDeltas[i] ?? 0;
    busy += us;
    const a = classify(id);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  return {
    busyMs: busy / 1000,
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: us / 1000, share: us / (busy || 1) })),
  };
}
