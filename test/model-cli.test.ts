import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runAtt } from "./helpers/processes.js";
import {
  ATT_REFERENCE,
  defaultModelDir,
  HAS_SHARED_DATA,
  HAS_VENV,
  REGISTRY,
  randomRows,
  readForest,
  rowsToCsv,
} from "./model-fixtures.js";

const jsonLines = (s: string) =>
  s
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "att-cli-")), name);
  writeFileSync(path, text);
  return path;
}

const card = JSON.parse(readFileSync(join(defaultModelDir(), "model.json"), "utf8")) as {
  version: string;
  features: string[];
};
const defaultName = readFileSync(join(REGISTRY, "DEFAULT"), "utf8").trim();

describe("att model list / inspect", () => {
  it("lists the registry with the default marked", async () => {
    const r = await runAtt(["model", "list"]);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.includes(defaultName))!;
    expect(line.trimStart().startsWith("*")).toBe(true);
    const json = JSON.parse((await runAtt(["model", "list", "--json"])).stdout) as {
      default: string;
      models: { name: string; default: boolean }[];
    };
    expect(json.default).toBe(defaultName);
    expect(json.models.filter((m) => m.default).map((m) => m.name)).toEqual([defaultName]);
  });

  it("inspects the default model: version, features, threshold, training anomaly rate, verified hashes", async () => {
    const r = await runAtt(["model", "inspect"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`model ${card.version}`);
    expect(r.stdout).toContain("threshold         0.5");
    expect(r.stdout).toMatch(/training anomaly {2}\d+\.\d{3} %/);
    expect(r.stdout).toMatch(/model\.onnx +sha256 [0-9a-f]{64} {2}verified/);
    expect(r.stdout).toContain(`features (${card.features.length}, in model order)`);
    const json = JSON.parse((await runAtt(["model", "inspect", defaultName, "--json"])).stdout) as {
      features: string[];
      version: string;
    };
    expect(json).toMatchObject({ version: card.version, features: card.features });
  });

  it("fails clearly on a version that is not in the registry", async () => {
    const r = await runAtt(["model", "inspect", "no-such-model"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Model no-such-model is not in the registry");
    expect(r.stderr).toContain(defaultName);
  });
});

describe("att model score", () => {
  it("prints one JSON object per row that agrees with the engine, with explanations on request", async () => {
    const rows = randomRows(readForest(defaultModelDir()), 40, 8);
    const csv = tempFile("rows.csv", rowsToCsv(card.features, rows));
    const r = await runAtt(["model", "score", "--input", csv, "--explain", "--top-k", "2"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(40);
    lines.forEach((l, i) => {
      expect(l).toMatchObject({
        row: i + 1,
        model_version: card.version,
        prediction: (l.score as number) >= 0.5 ? "ANOMALY" : "NORMAL",
      });
      expect((l.explanations as unknown[]).length).toBeLessThanOrEqual(2);
    });
    expect(r.stderr).toContain("40 rows scored, 0 could not be scored");
  });

  it("treats absent feature columns as 0", async () => {
    const partial = tempFile("partial.csv", "transfer_counts,tokens_type_counts\n3,2\n");
    const full = new Float32Array(card.features.length);
    full[card.features.indexOf("transfer_counts")] = 3;
    full[card.features.indexOf("tokens_type_counts")] = 2;
    const complete = tempFile("complete.csv", rowsToCsv(card.features, [full]));
    const a = jsonLines((await runAtt(["model", "score", "--input", partial])).stdout)[0]!;
    const b = jsonLines((await runAtt(["model", "score", "--input", complete])).stdout)[0]!;
    expect(a.score).toBe(b.score);
  });

  it("refuses unknown columns, listing them", async () => {
    const csv = tempFile("typo.csv", "transfer_count,tokens_type_counts,gas\n3,2,1\n");
    const r = await runAtt(["model", "score", "--input", csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("2 columns are not a feature of this model");
    expect(r.stderr).toContain("Unknown: transfer_count, gas");
  });

  it("reports a NaN or non-numeric row as an error line and scores the others", async () => {
    const csv = tempFile("nan.csv", "transfer_counts,tokens_type_counts\n3,2\nnan,2\nabc,1\n4,1\n");
    const r = await runAtt(["model", "score", "--input", csv]);
    expect(r.code).toBe(1);
    const [a, b, c, d] = jsonLines(r.stdout);
    expect(a).toHaveProperty("score");
    expect(b).toMatchObject({ row: 2, error: { code: "ATT_MODEL_INVALID_INPUT" } });
    expect((b!.error as { message: string }).message).toContain("transfer_counts=NaN");
    expect(c).toMatchObject({ row: 3, error: { code: "ATT_CSV_INVALID" } });
    expect(d).toHaveProperty("score");
    expect(r.stderr).toContain("2 rows scored, 2 could not be scored");
  });

  it.skipIf(!HAS_SHARED_DATA)(
    "scores the exploit rows CSV of the ATT notebook as it is (renamed columns included)",
    async () => {
      const r = await runAtt(["model", "score", "--input", join(ATT_REFERENCE, "exploit_rows.csv")]);
      expect(r.code, r.stderr).toBe(0);
      const lines = jsonLines(r.stdout);
      expect(lines).toHaveLength(6);
      expect(lines[0]!.id).toBe("0x600373f67521324c8068cfd025f121a0843d57ec813411661b07edc5ff781842");
    },
  );
});

describe.skipIf(!HAS_VENV)("att model import / train delegate to the Python tooling", () => {
  it.skipIf(!HAS_SHARED_DATA)(
    "imports the ATT pickle into a folder that the engine then loads and verifies",
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), "att-import-")), "att");
      const pickle = join(ATT_REFERENCE, "isolation_forest.pkl");
      const r = await runAtt([
        "model",
        "import",
        pickle,
        "--out",
        out,
        "--marginals",
        join(ATT_REFERENCE, "training_marginals.json"),
        "--estimate-rows",
        "300",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(out, "model.onnx"))).toBe(true);
      const inspected = await runAtt(["model", "inspect", out]);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect(inspected.stdout).toContain("imported_pickle");
    },
  );

  it("trains a model on a CSV; the new folder scores rows", async () => {
    const rows = randomRows(readForest(defaultModelDir()), 400, 17);
    const csv = tempFile("train.csv", rowsToCsv(card.features, rows));
    const out = join(mkdtempSync(join(tmpdir(), "att-train-")), "m");
    const r = await runAtt([
      "model",
      "train",
      "--input",
      csv,
      "--out",
      out,
      "--n-estimators",
      "20",
      "--model-version",
      "test-model",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const scored = await runAtt(["model", "score", "--model", out, "--input", csv]);
    expect(scored.code, scored.stderr).toBe(0);
    expect(jsonLines(scored.stdout)[0]).toMatchObject({ model_version: "test-model" });
  });

  it("turns a failing Python command into a clear error and a non-zero exit", async () => {
    const r = await runAtt(["model", "import", "/nonexistent/model.pkl", "--out", join(tmpdir(), "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("python -m att_model import failed (exit code");
  });
});
