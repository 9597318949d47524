import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runAtt } from "./helpers/processes.js";

const QUIET = { ATT_LOG_LEVEL: "warn" };
import { readFeatureRows } from "../src/model/csv.js";
import { readCard } from "../src/model/load.js";
import { resolveModelDir } from "../src/model/registry.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "att-simulate-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("att simulate --rows", () => {
  it("writes feature rows in the default model's column order that the scoring CSV reader accepts", async () => {
    const out = join(dir, "rows.csv");
    const r = await runAtt(
      ["simulate", "--rows", "300", "--exploit-rows", "5", "--out", out, "--seed", "3"],
      QUIET,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toMatchObject({ rows: 305, seed: 3 });
    const card = await readCard(resolveModelDir(join(REPO, "models/registry")));
    const text = readFileSync(out, "utf8");
    expect(text.split("\n", 1)[0]).toBe(["tx_hash", "label", ...card.features].join(","));
    const rows = readFeatureRows(text, card.features, out);
    expect(rows).toHaveLength(305);
    expect(text.split("\n").filter((l) => l.includes(",exploit,"))).toHaveLength(5);
    // the same seed gives the same file
    const again = join(dir, "again.csv");
    expect(
      (
        await runAtt(
          ["simulate", "--rows", "300", "--exploit-rows", "5", "--out", again, "--seed", "3"],
          QUIET,
        )
      ).code,
    ).toBe(0);
    expect(readFileSync(again, "utf8")).toBe(text);
  });

  it("refuses --rows without --out, saying how to call it", async () => {
    const r = await runAtt(["simulate", "--rows", "10"], QUIET);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--rows and --out go together");
  });
});
