/**
 * Progress on stderr, one line per phase: `[e2e 3/7] one scorer process …`. On a terminal,
 * `update()` rewrites the current line in place; elsewhere (CI logs) it prints at most one
 * update every few seconds so that logs stay readable.
 */
export interface Progress {
  /** Starts a phase: prints its line. */
  phase(message: string): void;
  /** Live detail of the current phase (throttled off a terminal). */
  update(message: string): void;
  /** A line that is not a phase (a result, a warning). */
  note(message: string): void;
}

export function createProgress(bench: string, totalPhases?: number): Progress {
  const tty = process.stderr.isTTY === true;
  let phase = 0;
  let current = "";
  let live = false;
  let lastPrinted = 0;
  const prefix = () => `[${bench}${phase ? ` ${phase}${totalPhases ? `/${totalPhases}` : ""}` : ""}]`;
  const endLive = () => {
    if (live) process.stderr.write("\n");
    live = false;
  };
  return {
    phase(message) {
      endLive();
      phase += 1;
      current = message;
      process.stderr.write(`${prefix()} ${message}\n`);
    },
    update(message) {
      if (tty) {
        const line = `${prefix()}   ${message}`.slice(0, (process.stderr.columns ?? 120) - 1);
        process.stderr.write(`\r\x1b[2K${line}`);
        live = true;
      } else if (Date.now() - lastPrinted >= 5000) {
        lastPrinted = Date.now();
        process.stderr.write(`${prefix()}   ${current}: ${message}\n`);
      }
    },
    note(message) {
      endLive();
      process.stderr.write(`${prefix()} ${message}\n`);
    },
  };
}
