import type { Logger } from "../kernel/logger.js";

/** Catch-up progress: a live line on a terminal, a periodic log line otherwise. */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function createProgress(opts: {
  total: number;
  label: string;
  logger: Logger;
  intervalMs: number;
  /** Default process.stderr; a live line only when it is a TTY. */
  stream?: NodeJS.WriteStream;
  now?: () => number;
}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = opts.now ?? Date.now;
  const start = now();
  let last = tty ? 0 : start;
  let done = 0;

  const stats = () => {
    const elapsed = Math.max(1e-3, (now() - start) / 1000);
    const rate = done / elapsed;
    const eta = rate > 0 ? (opts.total - done) / rate : Infinity;
    return { rate, eta };
  };

  const render = (final: boolean) => {
    const { rate, eta } = stats();
    if (tty) {
      const pct = opts.total > 0 ? ((100 * done) / opts.total).toFixed(1) : "100.0";
      stream.write(
        `\r\x1b[2K${opts.label} ${done}/${opts.total} blocks ${pct}%  ${rate.toFixed(1)} blocks/s  ETA ${formatDuration(eta)}${final ? "\n" : ""}`,
      );
    } else {
      opts.logger.info({
        msg: final ? "Backfill finished" : "Backfill progress",
        blocks_done: done,
        blocks_total: opts.total,
        blocks_per_s: Number(rate.toFixed(1)),
        eta_s: Number.isFinite(eta) ? Math.round(eta) : null,
      });
    }
  };

  return {
    update(d) {
      done = d;
      const t = now();
      if (t - last >= (tty ? 250 : opts.intervalMs)) {
        last = t;
        render(false);
      }
    },
    finish() {
      render(true);
    },
  };
}
