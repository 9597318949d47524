/**
 * Kafka's own CLI tools (org.apache.kafka:kafka-tools, the broker's version) as independent
 * counters for tests: what they read or change does not rest on our Kafka client (kafkajs and
 * its patches in src/kernel/kafka/). They run through `deploy/local/stack.sh kafka <tool>`,
 * the same classpath and JVM options a person uses (~0.6 s JVM start-up).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { KAFKA_BROKERS } from "./services.js";
import { JARS_DIR, runStackScript, STACK_SCRIPT, type StackResult } from "./private-stack.js";

/** Runs `deploy/local/stack.sh kafka <tool> --bootstrap-server <bootstrap> <args>`. */
export function runKafkaTool(
  tool: string,
  args: string[],
  opts: { bootstrap?: string; timeoutMs?: number } = {},
): Promise<StackResult> {
  const bootstrap = opts.bootstrap ?? KAFKA_BROKERS[0]!;
  return runStackScript(
    ["kafka", tool, "--bootstrap-server", bootstrap, ...args],
    {},
    opts.timeoutMs ?? 60_000,
  );
}

async function toolOrThrow(
  tool: string,
  args: string[],
  opts: { bootstrap?: string; timeoutMs?: number },
): Promise<string> {
  const r = await runKafkaTool(tool, args, opts);
  // ConsumerGroupCommand prints some refusals ("Error: Assignments can only be reset if the group
  // … is inactive") and exits 0 all the same.
  if (r.code !== 0 || /^Error: /m.test(r.stdout) || /^Error: /m.test(r.stderr)) {
    throw new Error(
      `kafka ${tool} ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`.trim(),
    );
  }
  return r.stdout;
}

/** One record as Kafka's ConsoleConsumer printed it (bytes decoded as UTF-8). */
export interface ConsoleRecord {
  /** null: the record had no key. */
  key: string | null;
  /** null: a tombstone (the record had no value). */
  value: string | null;
  partition: number;
  offset: number;
}

export interface ConsoleConsumeOptions {
  topic: string;
  /** --bootstrap-server; default the shared stack (ATT_KAFKA_BROKERS). */
  bootstrap?: string;
  /** --isolation-level read_committed (true) or read_uncommitted (false). */
  readCommitted: boolean;
  /**
   * Kafka's --timeout-ms: the consumer ends when no record arrived for this long. Its first poll
   * includes joining the group and the first fetch (~1.5 s on an idle broker): allow for that.
   */
  timeoutMs: number;
  /**
   * Stop early: once this many records have been printed, wait `settleMs` more for any extra
   * (a duplicate must still show up), then end the consumer. More than `expected` are returned.
   */
  expected?: number;
  /** Default 1000 ms. */
  settleMs?: number;
}

// Neither may occur in a key or value: JSON escapes control characters, and our keys are hashes.
const KEY_SEPARATOR = "\u001f"; // ASCII unit separator
const RECORD_SEPARATOR = "\u001e\n"; // ASCII record separator (and a newline for people)

/**
 * Reads `topic` from the beginning with Kafka's ConsoleConsumer (`--from-beginning
 * --isolation-level read_committed --property print.key=true …`, its own consumer group, no
 * offsets committed) and returns every record it printed, in the order of each partition.
 * Throws if the consumer failed or printed something that does not parse.
 *
 * @example
 *   const got = await consoleConsume({ topic, readCommitted: true, timeoutMs: 10_000, expected: 3 });
 *   expect(got.map((r) => r.key).sort()).toEqual(["a", "b", "c"]);
 */
export async function consoleConsume(opts: ConsoleConsumeOptions): Promise<ConsoleRecord[]> {
  // A literal no value can equal, so that a tombstone is told from the string "null".
  const nullLiteral = `<att-null-${randomBytes(8).toString("hex")}>`;
  const formatter = [
    "print.partition=true",
    "print.offset=true",
    "print.key=true",
    "print.value=true",
    `key.separator=${KEY_SEPARATOR}`,
    `line.separator=${RECORD_SEPARATOR}`,
    `null.literal=${nullLiteral}`,
  ];
  const args = [
    STACK_SCRIPT,
    "kafka",
    "console-consumer",
    "--bootstrap-server",
    opts.bootstrap ?? KAFKA_BROKERS[0]!,
    "--topic",
    opts.topic,
    "--from-beginning",
    "--isolation-level",
    opts.readCommitted ? "read_committed" : "read_uncommitted",
    "--timeout-ms",
    String(opts.timeoutMs),
    ...formatter.flatMap((p) => ["--property", p]),
  ];
  const child = spawn("bash", args, {
    env: { ...process.env, ATT_JARS_DIR: JARS_DIR },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.setEncoding("utf8"); // decodes multi-byte characters split across chunks
  let pending = "";
  let stderr = "";
  const records: ConsoleRecord[] = [];
  let stoppedByUs = false;
  let settle: NodeJS.Timeout | undefined;
  const parse = (text: string): ConsoleRecord => {
    const [p, o, key, ...rest] = text.split(KEY_SEPARATOR);
    const value = rest.join(KEY_SEPARATOR);
    if (!p?.startsWith("Partition:") || !o?.startsWith("Offset:") || key === undefined || !rest.length)
      throw new Error(`console-consumer printed a line that does not parse: ${JSON.stringify(text)}`);
    return {
      partition: Number(p.slice("Partition:".length)),
      offset: Number(o.slice("Offset:".length)),
      key: key === nullLiteral ? null : key,
      value: value === nullLiteral ? null : value,
    };
  };
  let parseError: Error | undefined;
  child.stdout.on("data", (chunk: string) => {
    pending += chunk;
    let i: number;
    while ((i = pending.indexOf(RECORD_SEPARATOR)) >= 0) {
      const text = pending.slice(0, i);
      pending = pending.slice(i + RECORD_SEPARATOR.length);
      try {
        records.push(parse(text));
      } catch (err) {
        parseError ??= err as Error;
      }
    }
    if (opts.expected !== undefined && records.length >= opts.expected && !settle) {
      settle = setTimeout(() => {
        stoppedByUs = true;
        child.kill("SIGTERM"); // ConsoleConsumer's shutdown hook closes the consumer
      }, opts.settleMs ?? 1000);
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // A hard bound in case the JVM hangs: the idle timeout plus time to join and fetch.
  const hard = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs + 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.once("close", (c, s) => done([c, s])),
  );
  clearTimeout(hard);
  clearTimeout(settle);
  if (parseError) throw parseError;
  if (pending.trim())
    throw new Error(`console-consumer left an unterminated record: ${JSON.stringify(pending)}`);
  if (!stoppedByUs) {
    // Ends with "Processed a total of N messages" after its --timeout-ms (and logs the
    // TimeoutException that ended it as an ERROR; that is its normal exit).
    const total = /Processed a total of (\d+) messages/.exec(stderr);
    if (code !== 0 || !total) {
      throw new Error(`console-consumer exited ${code ?? signal}:\n${stderr.trim()}`);
    }
    if (Number(total[1]) !== records.length) {
      throw new Error(`console-consumer processed ${total[1]} records but printed ${records.length}`);
    }
  }
  return records;
}

/** Where `resetOffsets` moves a group: ConsumerGroupCommand's --to-earliest, --to-offset, … */
export type ResetTarget =
  "earliest" | "latest" | { offset: number } | { datetime: Date | string } | { shiftBy: number };

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * `kafka-consumer-groups --reset-offsets` for one topic (or "topic:0,1" for some partitions).
 * With `execute: false` it is a dry run that only reports the offsets it would set. Kafka
 * refuses while the group has running members; this throws then.
 * A datetime string is Kafka's format, 'YYYY-MM-DDTHH:mm:SS.sss' with an optional zone ("Z",
 * "+01:00"); a Date is sent in UTC.
 */
export async function resetOffsets(opts: {
  group: string;
  topic: string;
  to: ResetTarget;
  execute: boolean;
  bootstrap?: string;
}): Promise<PartitionOffset[]> {
  const to = opts.to;
  const target =
    to === "earliest"
      ? ["--to-earliest"]
      : to === "latest"
        ? ["--to-latest"]
        : "offset" in to
          ? ["--to-offset", String(to.offset)]
          : "shiftBy" in to
            ? ["--shift-by", String(to.shiftBy)]
            : ["--to-datetime", to.datetime instanceof Date ? to.datetime.toISOString() : to.datetime];
  const out = await toolOrThrow(
    "consumer-groups",
    [
      "--group",
      opts.group,
      "--topic",
      opts.topic,
      "--reset-offsets",
      ...target,
      opts.execute ? "--execute" : "--dry-run",
    ],
    { bootstrap: opts.bootstrap },
  );
  return parseTable(out, "NEW-OFFSET").map((row) => ({
    topic: row.TOPIC!,
    partition: Number(row.PARTITION),
    offset: Number(row["NEW-OFFSET"]),
  }));
}

export interface GroupPartition {
  topic: string;
  partition: number;
  /** null: the group has no committed offset for this partition ("-"). */
  currentOffset: number | null;
  logEndOffset: number;
  lag: number | null;
  /** "-" when the group has no running member. */
  consumerId: string;
}

/** `kafka-consumer-groups --describe --group <group>`: committed offsets and lag per partition. */
export async function describeGroup(
  group: string,
  opts: { bootstrap?: string } = {},
): Promise<GroupPartition[]> {
  const out = await toolOrThrow("consumer-groups", ["--describe", "--group", group], opts);
  const num = (s: string | undefined) => (s === undefined || s === "-" ? null : Number(s));
  return parseTable(out, "CURRENT-OFFSET")
    .map((row) => ({
      topic: row.TOPIC!,
      partition: Number(row.PARTITION),
      currentOffset: num(row["CURRENT-OFFSET"]),
      logEndOffset: Number(row["LOG-END-OFFSET"]),
      lag: num(row.LAG),
      consumerId: row["CONSUMER-ID"] ?? "-",
    }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * `kafka-get-offsets`: the end offset (or with `time: "earliest"` the start offset) of every
 * partition of `topic`, sorted by partition. The end counts transaction markers too.
 */
export async function getOffsets(
  topic: string,
  opts: { bootstrap?: string; time?: "latest" | "earliest" } = {},
): Promise<PartitionOffset[]> {
  const time = opts.time === "earliest" ? "-2" : "-1";
  const out = await toolOrThrow("get-offsets", ["--topic", topic, "--time", time], opts);
  return out
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const m = /^(.+):(\d+):(\d+)$/.exec(line.trim());
      if (!m) throw new Error(`get-offsets printed a line that does not parse: ${JSON.stringify(line)}`);
      return { topic: m[1]!, partition: Number(m[2]), offset: Number(m[3]) };
    })
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Rows of the whitespace-aligned table ConsumerGroupCommand prints, from the header line that
 * contains `marker`; other lines (blank, "Warn: …") are left out.
 */
function parseTable(out: string, marker: string): Record<string, string>[] {
  const lines = out.split("\n");
  const h = lines.findIndex((l) => l.startsWith("GROUP") && l.includes(marker));
  if (h < 0) throw new Error(`no table with ${marker} in:\n${out}`);
  const header = lines[h]!.trim().split(/\s+/);
  return lines
    .slice(h + 1)
    .filter((l) => l.trim() && !/^(Warn|Error)/.test(l))
    .map((l) =>
      Object.fromEntries(
        l
          .trim()
          .split(/\s+/)
          .map((v, i) => [header[i]!, v]),
      ),
    );
}
