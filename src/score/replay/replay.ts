import { ConfigError, NonRetryableError } from "../../kernel/errors.js";
import { commitGroupOffsets, kafkaErrorInfo, type Admin, type Kafka } from "../../kernel/kafka/index.js";
import { parseInstant } from "../../kernel/time.js";

export class GroupActiveError extends NonRetryableError {
  readonly code = "ATT_GROUP_ACTIVE";
}

export type ReplayTarget =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "timestamp"; ms: number }
  | { kind: "offsets"; offsets: Map<number, string> };

export interface PartitionMove {
  partition: number;
  from: string;
  to: string;
}

/** Parses "2026-11-01T00:00:00Z", unix seconds or unix milliseconds into milliseconds. */
export function parseTimestamp(raw: string): number {
  const ms = parseInstant(raw);
  if (ms === undefined) {
    throw new ConfigError(`Invalid --to-timestamp: got ${JSON.stringify(raw)}`, {
      details: ["Expected: an ISO-8601 time (2026-11-01T00:00:00Z), unix seconds or unix milliseconds."],
    });
  }
  return ms;
}

/** Parses "0:120,1:98" into partition → offset. */
export function parseOffsets(raw: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+):(\d+)$/.exec(part);
    if (!m) {
      throw new ConfigError(`Invalid --to-offset entry ${JSON.stringify(part)}`, {
        details: ["Expected: partition:offset pairs separated by commas, e.g. 0:120,1:98."],
      });
    }
    out.set(Number(m[1]), m[2]!);
  }
  if (out.size === 0) {
    throw new ConfigError("Invalid --to-offset: no partition:offset pairs given", {
      details: [
        `Got: ${JSON.stringify(raw)}`,
        "Expected: partition:offset pairs separated by commas, e.g. 0:120,1:98.",
      ],
    });
  }
  return out;
}

/**
 * Moves a stopped consumer group's committed offsets so that the next `att score` with that
 * group re-reads history. Refuses while the group has members: Kafka would reject the reset,
 * and a running replica would immediately overwrite it.
 */
export async function resetGroupOffsets(
  kafka: Kafka,
  admin: Admin,
  args: { groupId: string; topic: string; target: ReplayTarget; dryRun?: boolean },
): Promise<PartitionMove[]> {
  const { groups } = await admin.describeGroups([args.groupId]);
  const g = groups[0];
  if (g && g.members.length > 0) {
    throw new GroupActiveError(
      `Consumer group "${args.groupId}" has ${g.members.length} running member(s); offsets can only be reset while it is stopped.`,
      {
        details: [
          `Members: ${g.members.map((m) => `${m.clientId}@${m.clientHost}`).join(", ")}`,
          "Fix: stop every `att score` of this group (e.g. scale the deployment to 0), then run the replay again.",
        ],
      },
    );
  }
  // Checked first: kafkajs retries an unknown topic for seconds, then fails without naming it.
  if (!(await admin.listTopics()).includes(args.topic)) {
    throw new ConfigError(`Invalid --topic: topic ${args.topic} does not exist`, {
      details: ["Expected: the input topic of the group's `att score` (default: ATT_TOPIC_TRANSFERS)."],
    });
  }
  const topicOffsets = await admin.fetchTopicOffsets(args.topic);
  const committed = await admin.fetchOffsets({ groupId: args.groupId, topics: [args.topic] });
  const before = new Map<number, string>();
  for (const p of committed[0]?.partitions ?? []) before.set(p.partition, p.offset);

  let targets: Map<number, string>;
  switch (args.target.kind) {
    case "earliest":
      targets = new Map(topicOffsets.map((p) => [p.partition, p.low]));
      break;
    case "latest":
      targets = new Map(topicOffsets.map((p) => [p.partition, p.high]));
      break;
    case "timestamp": {
      const byTime = await admin.fetchTopicOffsetsByTimestamp(args.topic, args.target.ms);
      // A partition with no message at or after the time gets -1 from Kafka: move it to its end.
      targets = new Map(
        byTime.map((p) => [
          p.partition,
          p.offset === "-1" ? (topicOffsets.find((t) => t.partition === p.partition)?.high ?? "0") : p.offset,
        ]),
      );
      break;
    }
    case "offsets": {
      const known = new Map(topicOffsets.map((p) => [p.partition, p]));
      for (const [p, offset] of args.target.offsets) {
        const range = known.get(p);
        if (!range)
          throw new ConfigError(`Invalid --to-offset: topic ${args.topic} has no partition ${p}`, {
            details: [`Partitions: ${[...known.keys()].sort((a, b) => a - b).join(", ")}`],
          });
        // Kafka commits any offset; one outside the log makes the next consumer fall back to
        // its auto.offset.reset, silently re-reading or skipping the whole partition.
        if (BigInt(offset) < BigInt(range.low) || BigInt(offset) > BigInt(range.high))
          throw new ConfigError(
            `Invalid --to-offset: offset ${offset} is outside partition ${p} of ${args.topic}`,
            {
              details: [
                `Expected: an offset from ${range.low} (log start) to ${range.high} (end), inclusive.`,
              ],
            },
          );
      }
      targets = args.target.offsets;
      break;
    }
  }
  const moves: PartitionMove[] = [...targets]
    .sort(([a], [b]) => a - b)
    .map(([partition, to]) => ({ partition, from: before.get(partition) ?? "-1", to }));
  if (!args.dryRun) {
    await commitGroupOffsets(kafka, {
      groupId: args.groupId,
      topic: args.topic,
      partitions: moves.map((m) => ({ partition: m.partition, offset: m.to })),
    }).catch((err: unknown) => {
      // A consumer joined after the check above: the broker refuses a member-less commit then.
      if (kafkaErrorInfo(err)?.type === "UNKNOWN_MEMBER_ID")
        throw new GroupActiveError(
          `Consumer group "${args.groupId}" got a member while its offsets were being reset; nothing was moved.`,
          { details: ["Fix: stop every `att score` of this group, then run the replay again."], cause: err },
        );
      throw err;
    });
  }
  return moves;
}
