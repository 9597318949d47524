import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { promoteModel, readDefaultHistory, rollbackModel } from "../src/model/cli/promote.js";
import { readDefaultVersion } from "../src/model/registry.js";

const REGISTRY = fileURLToPath(new URL("../models/registry", import.meta.url));
const BASE = readDefaultVersion(REGISTRY)!;
const OTHER = "att-original-1795938162";

/** A copy of the repository's registry: tests never move the real DEFAULT. */
function registryCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "att-promote-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(REGISTRY, dir, { recursive: true });
  return dir;
}

const at = (s: string) => ({ now: new Date(s) });

describe("att model promote / rollback", () => {
  it("moves DEFAULT to a verified model and back, each move one CHANGELOG line, rollbacks undoing promotes in reverse order", async () => {
    const reg = registryCopy();
    const before = readFileSync(join(reg, "CHANGELOG.md"), "utf8");

    const p1 = await promoteModel(reg, OTHER, {
      reason: "imported bot model\nfor a test",
      ...at("2026-12-06T10:00:00Z"),
    });
    expect(p1).toEqual({ at: "2026-12-06T10:00:00Z", action: "promote", from: BASE, to: OTHER });
    expect(readFileSync(join(reg, "DEFAULT"), "utf8")).toBe(`${OTHER}\n`);
    const after = readFileSync(join(reg, "CHANGELOG.md"), "utf8");
    expect(after.startsWith(before)).toBe(true);
    expect(after.slice(before.length).trim()).toBe(
      `- 2026-12-06T10:00:00Z promote: DEFAULT ${BASE} → ${OTHER} (imported bot model for a test)`,
    );
    // already the default: nothing written
    expect(await promoteModel(reg, OTHER)).toBeUndefined();
    expect(readDefaultHistory(reg)).toHaveLength(1);

    await promoteModel(reg, BASE, at("2026-12-06T11:00:00Z"));
    expect((await rollbackModel(reg, at("2026-12-06T12:00:00Z"))).to).toBe(OTHER);
    expect(readDefaultVersion(reg)).toBe(OTHER);
    const back = await rollbackModel(reg, { reason: "bad day", ...at("2026-12-06T13:00:00Z") });
    expect(back).toEqual({ at: "2026-12-06T13:00:00Z", action: "rollback", from: OTHER, to: BASE });
    expect(readDefaultVersion(reg)).toBe(BASE);
    expect(readDefaultHistory(reg).map((m) => `${m.action} ${m.from}→${m.to}`)).toEqual([
      `promote ${BASE}→${OTHER}`,
      `promote ${OTHER}→${BASE}`,
      `rollback ${BASE}→${OTHER}`,
      `rollback ${OTHER}→${BASE}`,
    ]);
    await expect(rollbackModel(reg)).rejects.toThrow(/Nothing to roll back/);
    expect(readDefaultVersion(reg)).toBe(BASE);
  });

  it("refuses a version that is not in the registry, or whose files fail verification, and leaves DEFAULT alone", async () => {
    const reg = registryCopy();
    await expect(promoteModel(reg, "no-such-model")).rejects.toMatchObject({ code: "ATT_MODEL_NOT_FOUND" });
    // one byte of the ONNX graph changed: its sha256 no longer matches the card
    const onnx = join(reg, OTHER, "model.onnx");
    const bytes = readFileSync(onnx);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(onnx, bytes);
    await expect(promoteModel(reg, OTHER)).rejects.toThrow(/sha256|hash/i);
    expect(readDefaultVersion(reg)).toBe(BASE);
    expect(readDefaultHistory(reg)).toEqual([]);
  });

  it("will not roll back over a DEFAULT that was edited by hand, and says how to choose", async () => {
    const reg = registryCopy();
    await promoteModel(reg, OTHER);
    writeFileSync(join(reg, "DEFAULT"), `${BASE}\n`);
    await expect(rollbackModel(reg)).rejects.toThrow(/changed outside att model promote/);
    expect(readDefaultVersion(reg)).toBe(BASE);
  });
});
