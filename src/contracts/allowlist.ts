import { z } from "zod";
import { address } from "./token-transfer-tx.js";

/**
 * Allow-list entry v1 — an address known to be benign (an MEV bot, an exchange's hot wallet, a
 * router contract), the value of the compacted allow-list topic (`att.allowlist.v1`). Defined
 * before the tools that write and read it: `att allowlist add|remove|list`, and the score stage
 * that marks allow-listed findings and keeps them off the alerts topic.
 *
 * Kafka key: `<chainId>:<address>` (e.g. `1:0xab…`). The topic is compacted, so the current
 * list is the latest value of every key: a reader builds it by reading the topic from the
 * earliest offset (no consumer-group offsets), putting each entry, and deleting the key on a
 * tombstone (null value) — that is how `remove` works. A tombstone stays readable for the topic's
 * `delete.retention.ms` only, so a reader that was stopped for longer must rebuild from the
 * beginning rather than resume. docs/contracts.md "Allow-list entry v1".
 */

export const ALLOWLIST_KINDS = ["sender", "contract"] as const;

export const allowlistEntrySchema = z.object({
  v: z.literal(1, "expected schema version v = 1"),
  chainId: z.number().int().positive("expected a positive chain id"),
  address: address.meta({ description: "The allow-listed address: lower-case 0x hex." }),
  kind: z.enum(ALLOWLIST_KINDS).meta({
    description:
      "sender: matches transactions sent from the address; contract: matches transactions that call it (to).",
  }),
  reason: z.string().min(1).max(2000).meta({ description: "Why the address is benign." }),
  addedBy: z.string().min(1).max(200).meta({ description: "Who added it (user name or e-mail)." }),
  at: z.iso.datetime().meta({ description: "When it was added: ISO 8601, UTC." }),
});

export type AllowlistEntry = z.infer<typeof allowlistEntrySchema>;
