import { join } from "node:path";
import { errorCode } from "../../kernel/errors.js";
import { readCard } from "../load.js";
import { listVersions, readDefaultVersion, resolveRegistry } from "../registry.js";

export interface ListedModel {
  name: string;
  default: boolean;
  version?: string;
  created_at?: string;
  features?: number;
  threshold?: number;
  source?: string;
  /** Why the card could not be read. */
  error?: { code: string; message: string };
}

/** Every registry folder with a model card; cards are read and checked, files are not hashed. */
export async function listModels(
  registry: string,
): Promise<{ registry: string; default?: string; models: ListedModel[] }> {
  registry = resolveRegistry(registry);
  const def = readDefaultVersion(registry);
  const models: ListedModel[] = [];
  for (const name of listVersions(registry)) {
    try {
      const card = await readCard(join(registry, name));
      const source = (card.source as { kind?: string } | undefined)?.kind;
      models.push({
        name,
        default: name === def,
        version: card.version,
        ...(card.created_at ? { created_at: card.created_at } : {}),
        features: card.features.length,
        threshold: card.threshold,
        ...(source ? { source } : {}),
      });
    } catch (err) {
      models.push({
        name,
        default: name === def,
        error: { code: errorCode(err), message: (err as Error).message.split("\n")[0]! },
      });
    }
  }
  return { registry, ...(def ? { default: def } : {}), models };
}

export function formatModelList(list: Awaited<ReturnType<typeof listModels>>): string {
  if (list.models.length === 0) return `no models in ${list.registry}\n`;
  const rows = list.models.map((m) => [
    m.default ? "*" : " ",
    m.name,
    m.version ?? "-",
    m.created_at ?? "-",
    m.features === undefined ? "-" : String(m.features),
    m.threshold === undefined ? "-" : String(m.threshold),
    m.error ? `INVALID ${m.error.code}: ${m.error.message}` : (m.source ?? ""),
  ]);
  const head = [" ", "folder", "version", "created", "features", "threshold", "source"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const missingDefault =
    list.default && !list.models.some((m) => m.default)
      ? `\nDEFAULT names ${list.default}, which is not in the registry\n`
      : "";
  return (
    [line(head), ...rows.map(line)].join("\n") +
    `\n(* = default, from ${join(list.registry, "DEFAULT")})\n` +
    missingDefault
  );
}
