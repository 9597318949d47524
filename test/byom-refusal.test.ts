import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HAS_TOOLING, TOOLING_PYTHON } from "./helpers/byom.js";
import { runAtt } from "./helpers/processes.js";

/**
 * Issue 15: "a pickle that names a class outside the allow-list is refused without running it".
 * The pickles below would create a marker file when unpickled by pickle.load / joblib.load; the
 * import must refuse them with the name they reference, and the marker must not exist.
 */

if (!HAS_TOOLING)
  console.warn("byom-refusal: model-tools/.venv is absent (run model-tools/setup.sh); skipping");

function writeEvil(dir: string, kind: "pickle" | "joblib", marker: string): string {
  const path = join(dir, kind === "pickle" ? "evil.pkl" : "evil.joblib");
  const script = [
    "import os, pickle, sys",
    "from sklearn.ensemble import RandomForestClassifier",
    "class Evil:",
    "    def __reduce__(self):",
    "        return (os.system, ('touch ' + sys.argv[2],))",
    // A real estimator with the payload inside its state: the allow-list must look at every global.
    "m = RandomForestClassifier(n_estimators=2)",
    "m.payload = Evil()",
    "if sys.argv[3] == 'joblib':",
    "    import joblib; joblib.dump(m, sys.argv[1])",
    "else:",
    "    pickle.dump(m, open(sys.argv[1], 'wb'))",
  ].join("\n");
  const r = spawnSync(TOOLING_PYTHON, ["-c", script, path, marker, kind], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  expect(existsSync(marker)).toBe(false);
  return path;
}

describe.skipIf(!HAS_TOOLING)("att model import refuses what is not on the allow-list", () => {
  for (const kind of ["pickle", "joblib"] as const) {
    it(`a ${kind} file naming os.system: refused with that name, nothing executed, exit 1`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "att-byom-evil-"));
      const marker = join(dir, "executed");
      const file = writeEvil(dir, kind, marker);
      const out = join(dir, "model");
      const r = await runAtt(
        ["model", "import", file, "--out", out, "--features", "transfer_counts"],
        {},
        300_000,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/posix\.system|os\.system/);
      expect(r.stderr).toContain("refus");
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(join(out, "model.json"))).toBe(false);
    });
  }
});
