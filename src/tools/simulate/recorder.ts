import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { SentTx } from "./sender.js";

/**
 * Keeps the injected exploit transactions: in memory for the demo's recall, and one JSON line
 * per exploit in `path` (if given) for anyone checking findings afterwards.
 */
export interface ExploitRecorder {
  record(tx: SentTx): void;
  list(): readonly SentTx[];
  close(): Promise<void>;
}

export function createExploitRecorder(path?: string): ExploitRecorder {
  const items: SentTx[] = [];
  let out: WriteStream | undefined;
  if (path) {
    mkdirSync(dirname(path), { recursive: true });
    out = createWriteStream(path, { flags: "a" });
  }
  return {
    record(tx) {
      items.push(tx);
      out?.write(`${JSON.stringify(tx)}\n`);
    },
    list: () => items,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!out) return resolve();
        const s = out;
        out = undefined;
        s.end((err?: Error | null) => (err ? reject(err) : resolve()));
      }),
  };
}
