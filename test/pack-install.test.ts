import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvField } from "../src/kernel/csv.js";

/**
 * The package as a user gets it: `npm pack` on a clean clone of the repository (no dist/: the
 * prepack script builds it), then `npm install <tarball>` into an empty project, whose `att`
 * scores rows with the bundled default model exactly as the repository does. onnxruntime-node's
 * install script would fetch CUDA libraries from NuGet there (linux/x64, installed as a
 * dependency); the two ways README "Installing the package" gives keep it from doing so, and
 * both are tried: the consumer's own `allowScripts` (npm 11, and then npm prints no warning) and
 * ONNXRUNTIME_NODE_INSTALL=skip (any npm). The clean clone's `npm ci` and `npm pack` must print
 * no npm warning either. npm fetches from its cache first (--prefer-offline); nothing but the
 * npm registry is ever needed.
 *
 * The clone is of the committed HEAD: work not yet committed is not in it.
 */

const ROOT = resolve(".");
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  /** stdout and stderr */
  out: string;
  seconds: number;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
  });
  return {
    status: r.status,
    stdout: r.stdout,
    out: `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ""}`,
    seconds: (performance.now() - t0) / 1000,
  };
}

function ok(what: string, r: Run): Run {
  expect(r.status, `${what} failed:\n${r.out.slice(-6000)}`).toBe(0);
  return r;
}

const npmWarnings = (out: string) => out.split("\n").filter((l) => l.startsWith("npm warn"));

/** Deterministic feature rows for the default model, and one exploit-like row. */
function featureRows(features: string[]): string {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows = [features.map(csvField).join(",")];
  for (let i = 0; i < 200; i++)
    rows.push(
      features
        .map((f) => {
          if (f === "account_active_period_in_minutes") return Math.round(rnd() * 2e6);
          if (f === "transfer_counts") return 1 + Math.floor(rnd() * 4);
          if (f === "tokens_type_counts") return 1 + Math.floor(rnd() * 2);
          return rnd() < 0.9 ? 0 : Math.round(rnd() * 1000);
        })
        .join(","),
    );
  rows.push(
    features
      .map((f) => (f === "account_active_period_in_minutes" ? 1 : f.endsWith("_value") ? 5e8 : 60))
      .join(","),
  );
  return `${rows.join("\n")}\n`;
}

describe("the npm package (npm pack on a clean clone, npm install <tarball> in an empty project)", () => {
  it("builds dist/ in prepack, installs without CUDA or an npm warning, and its att scores rows with the bundled model", () => {
    const work = mkdtempSync(join(tmpdir(), "att-pack-install-"));
    temps.push(work);
    const clone = join(work, "clone");
    const times: string[] = [];

    ok("git clone", run("git", ["clone", "--quiet", ROOT, clone], work));
    expect(existsSync(join(clone, "dist")), "a clean clone has no dist/").toBe(false);

    const ci = ok(
      "npm ci",
      run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], clone, {
        ONNXRUNTIME_NODE_INSTALL: "skip",
      }),
    );
    times.push(`npm ci ${ci.seconds.toFixed(0)} s`);
    expect(npmWarnings(ci.out), "npm ci in a fresh clone").toEqual([]);

    const packDir = join(work, "pack");
    mkdirSync(packDir);
    const pack = ok("npm pack", run("npm", ["pack", "--json", "--pack-destination", packDir], clone));
    times.push(`npm pack (prepack builds) ${pack.seconds.toFixed(0)} s`);
    expect(npmWarnings(pack.out), "npm pack").toEqual([]);
    const tarball = join(
      packDir,
      readdirSync(packDir).find((f) => f.endsWith(".tgz"))!,
    );
    const listed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as {
      files: { path: string }[];
    }[];
    const files = new Set(listed[0]!.files.map((f) => f.path));
    const defaultModel = readFileSync(join(ROOT, "models/registry/DEFAULT"), "utf8").trim();
    for (const f of [
      "dist/cli.js",
      "dist/commands/score.js",
      "schemas/finding.v1.schema.json",
      "schemas/token-transfer-tx.v1.schema.json",
      "models/registry/DEFAULT",
      `models/registry/${defaultModel}/model.onnx`,
    ])
      expect(files.has(f), `${f} in the tarball`).toBe(true);

    // The rows and what the repository itself prints for them.
    const card = JSON.parse(
      readFileSync(join(ROOT, `models/registry/${defaultModel}/model.json`), "utf8"),
    ) as {
      features: string[];
    };
    const csv = join(work, "rows.csv");
    writeFileSync(csv, featureRows(card.features));
    const expected = ok(
      "att model score in the repository",
      run("npx", ["tsx", "src/cli.ts", "model", "score", "--input", csv], ROOT),
    );
    const expectedLines = expected.stdout.split("\n").filter((l) => l.startsWith("{"));
    expect(expectedLines).toHaveLength(201);
    expect(expectedLines.some((l) => l.includes('"prediction":"ANOMALY"'))).toBe(true);
    expect(expectedLines.some((l) => l.includes('"prediction":"NORMAL"'))).toBe(true);

    const consumers: [string, Record<string, unknown>, Record<string, string>][] = [
      // README: npm 11's install-script policy in the consumer's own package.json
      [
        "allowScripts",
        {
          name: "att-consumer",
          private: true,
          allowScripts: { "onnxruntime-node": false, "msgpackr-extract": true },
        },
        {},
      ],
      // README: the variable onnxruntime-node's install script reads, for any npm
      [
        "ONNXRUNTIME_NODE_INSTALL=skip",
        { name: "att-consumer", private: true },
        { ONNXRUNTIME_NODE_INSTALL: "skip" },
      ],
    ];
    for (const [how, manifest, env] of consumers) {
      const dir = join(work, `consumer-${how.replace(/\W+/g, "-")}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
      const install = ok(
        `npm install <tarball> (${how})`,
        run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], dir, env),
      );
      times.push(`npm install <tarball> (${how}) ${install.seconds.toFixed(0)} s`);
      if (how === "allowScripts")
        expect(npmWarnings(install.out), "npm install with allowScripts").toEqual([]);
      const ort = join(dir, "node_modules/onnxruntime-node");
      const cuda = spawnSync("find", [ort, "-iname", "*cuda*"], { encoding: "utf8" }).stdout.trim();
      expect(cuda, `${how}: onnxruntime-node fetched CUDA files`).toBe("");

      const scored = ok(
        `npx att model score (${how})`,
        // no ATT_MODEL_REGISTRY: the installed att finds its bundled registry from any folder
        run("npx", ["att", "model", "score", "--input", csv], dir),
      );
      expect(
        scored.stdout.split("\n").filter((l) => l.startsWith("{")),
        `${how}: the installed att scores as the repository does`,
      ).toEqual(expectedLines);
    }
    console.log(`pack-install: ${times.join("; ")}`);
  }, 1_200_000);
});
