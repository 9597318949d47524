import { fileURLToPath } from "node:url";
import type { Child } from "../../test/helpers/child-process.js";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const BENCH_LOG_DIR = `${REPO}.local/logs/bench/`;

/** Children that must not outlive the benchmark (Ctrl-C, a thrown error). */
const live = new Set<Child>();
let hooked = false;

export function track(c: Child): Child {
  live.add(c);
  void c.exited.then(() => live.delete(c));
  if (!hooked) {
    hooked = true;
    const killAll = () => {
      for (const x of live) x.child.kill("SIGKILL");
    };
    process.once("exit", killAll);
    for (const sig of ["SIGINT", "SIGTERM"] as const)
      process.once(sig, () => {
        killAll();
        process.exit(130);
      });
  }
  return c;
}
