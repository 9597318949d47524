/**
 * The published message contracts as JSON Schema files (schemas/*.schema.json), generated from
 * the zod schemas the code validates with, so that a subscriber in any language checks the same
 * rules (docs/contracts.md "Published schemas"). `npm run build` runs it; test/schemas.test.ts
 * fails when the checked-in files differ from what this prints.
 *
 *   tsx scripts/gen-schemas.ts           write schemas/
 *   tsx scripts/gen-schemas.ts --check   exit 1, naming the files, when schemas/ is out of date
 *
 * Zod's refinements have no JSON Schema form: the one the contracts use (a uint256 below 2^256)
 * is stated in the field's description instead; a subscriber that needs it checks it itself.
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { z } from "zod";
import { allowlistEntrySchema } from "../src/contracts/allowlist.js";
import { dlqRecordSchema } from "../src/contracts/dlq.js";
import { findingSchema } from "../src/contracts/finding.js";
import { tokenTransferTxSchema } from "../src/contracts/token-transfer-tx.js";
import { verdictSchema } from "../src/contracts/verdict.js";

export const SCHEMAS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../schemas");

interface Published {
  file: string;
  schema: z.ZodType;
  title: string;
  description: string;
}

/** What is published: the file name is the `$id`'s last part; topic and key are in the description. */
export const PUBLISHED: readonly Published[] = [
  {
    file: "token-transfer-tx.v1.schema.json",
    schema: tokenTransferTxSchema,
    title: "TokenTransferTx v1",
    description:
      "One transaction with at least one ERC-20 transfer (topic att.token-transfers.v1, written by att ingest). " +
      "Kafka key: the sender address. transfers[].value is a uint256 as a decimal string: below 2^256 " +
      "(at most 78 digits), a bound JSON Schema cannot state. Read with isolation.level=read_committed.",
  },
  {
    file: "finding.v1.schema.json",
    schema: findingSchema,
    title: "Forta Finding (att-stream)",
    description:
      "A finding as the Forta SDK's Finding.toString() prints it (topic att.findings.v1, written by att score). " +
      "Kafka key: the finding's uniqueKey; a null value (tombstone) under that key retracts the finding. " +
      "Read with isolation.level=read_committed.",
  },
  {
    file: "dlq-record.v1.schema.json",
    schema: dlqRecordSchema,
    title: "DLQ record v1",
    description:
      "A message the score stage refused (topic att.dlq.v1). Kafka key: the original key. The error code " +
      "and the source coordinates are also Kafka headers (att-error-code, att-source-topic, att-source-partition, " +
      "att-source-offset).",
  },
  {
    file: "verdict.v1.schema.json",
    schema: verdictSchema,
    title: "Verdict v1",
    description:
      "An analyst's verdict on one transaction (topic att.verdicts.v1, compacted). Kafka key: <chainId>:<txHash>; " +
      "the latest value per key wins; a null value (tombstone) withdraws the verdict. Written by att verdict.",
  },
  {
    file: "allowlist-entry.v1.schema.json",
    schema: allowlistEntrySchema,
    title: "Allow-list entry v1",
    description:
      "An address known to be benign (topic att.allowlist.v1, compacted). Kafka key: <chainId>:<address>; the " +
      "latest value per key is the entry; a null value (tombstone) under the same key removes it. Written by " +
      "att allowlist add|remove.",
  },
];

/** Every published schema file's name and exact text (formatted as `prettier --check` expects). */
export async function renderSchemas(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const prettierOptions = { ...(await resolveConfig(join(SCHEMAS_DIR, "x.json"))), parser: "json" };
  for (const p of PUBLISHED) {
    // io "input": what a reader must accept. A z.object that strips unknown keys when parsing
    // leaves additionalProperties open; a z.strictObject closes it, as the parser does.
    const generated = z.toJSONSchema(p.schema, {
      target: "draft-2020-12",
      io: "input",
      unrepresentable: "throw",
    });
    const { $schema, ...body } = generated;
    const doc = {
      $schema,
      $id: `urn:att-stream:schema:${p.file}`,
      title: p.title,
      description: p.description,
      ...body,
    };
    out.set(p.file, await format(JSON.stringify(doc), prettierOptions));
  }
  return out;
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const rendered = await renderSchemas();
  mkdirSync(SCHEMAS_DIR, { recursive: true });
  const present = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith(".schema.json"));
  const stale = present.filter((f) => !rendered.has(f));
  const differ = [...rendered].filter(([f, text]) => {
    try {
      return readFileSync(join(SCHEMAS_DIR, f), "utf8") !== text;
    } catch {
      return true;
    }
  });
  if (check) {
    if (differ.length === 0 && stale.length === 0) return;
    for (const [f] of differ) console.error(`schemas/${f}: differs from the zod schema it is generated from`);
    for (const f of stale) console.error(`schemas/${f}: no longer published`);
    console.error("Fix: npm run build (or npx tsx scripts/gen-schemas.ts), then commit schemas/");
    process.exitCode = 1;
    return;
  }
  for (const f of stale) rmSync(join(SCHEMAS_DIR, f));
  for (const [f, text] of differ) writeFileSync(join(SCHEMAS_DIR, f), text);
  if (differ.length > 0 || stale.length > 0)
    console.log(`schemas/: ${differ.length} written, ${stale.length} removed (${rendered.size} published)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
