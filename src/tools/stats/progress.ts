import type { RangeProgress } from "./read-range.js";

/**
 * Progress of the read on stderr: one rewritten line on a terminal, nothing elsewhere until
 * the closing summary (so that logs and pipes stay clean).
 */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string) {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let last = 0;
  let lastText = "";
  return {
    update(p: RangeProgress) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && p.read < p.total) return;
      last = now;
      const share = p.total ? Math.min(100, (100 * p.read) / p.total) : 100;
      lastText = `${label}: ${p.read.toLocaleString("en-US")} / ~${p.total.toLocaleString("en-US")} records (${share.toFixed(1)}%)`;
      stream.write(`\r${lastText}\x1b[K`);
    },
    done(read: number) {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(
        `${tty ? "\r\x1b[K" : ""}${label}: ${read.toLocaleString("en-US")} records in ${secs} s\n`,
      );
    },
  };
}
