import { PassThrough } from "node:stream";

/** A writable stream that keeps what was written; `text()` returns it as UTF-8. */
export function sink(): PassThrough & { text: () => string } {
  const s = new PassThrough() as PassThrough & { text: () => string };
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.text = () => Buffer.concat(chunks).toString("utf8");
  return s;
}
