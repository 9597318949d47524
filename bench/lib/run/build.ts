import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../processes.js";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Some benchmarks run `node dist/cli.js` (faster start-up than tsx): builds it with `npm run
 * build` when it is missing or older than a file under src/.
 */
export function ensureBuild(log: (msg: string) => void): void {
  const cli = `${REPO}dist/cli.js`;
  if (existsSync(cli) && statSync(cli).mtimeMs >= newestMtime(`${REPO}src`)) return;
  log(existsSync(cli) ? "dist/ is older than src/: npm run build" : "no dist/cli.js: npm run build");
  const r = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: ["ignore", 2, 2] });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
}
