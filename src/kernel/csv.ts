import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { ValidationError } from "./errors.js";

/**
 * The one CSV reader and writer (RFC 4180 fields). Records end in "\n" when written — the files
 * are read back by `att model …` and model-tools (pandas), which accept both, and the bytes of
 * existing exports stay as they were.
 */

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines. Blank lines are skipped. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
  }
  if (quoted) throw new ValidationError("CSV ends inside a quoted field.", { code: "ATT_CSV_INVALID" });
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => !(r.length === 1 && r[0] === ""));
}

/** One field, quoted (with "" for a quote) only when it holds a comma, quote or line break. */
export function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One record and its "\n". */
export function csvRecord(cells: readonly string[]): string {
  return cells.map(csvField).join(",") + "\n";
}

export interface CsvFile {
  /** Writes one record; waits when the stream's buffer is full. */
  write(cells: readonly string[]): Promise<void>;
  /** Ends the file; rejects with the stream's error, if any. */
  close(): Promise<void>;
}

/** A CSV file written record by record, with the stream's backpressure respected. */
export function createCsvFile(path: string): CsvFile {
  const out = createWriteStream(path, { encoding: "utf8" });
  const done = new Promise<void>((resolve, reject) => {
    out.once("error", reject);
    out.once("finish", resolve);
  });
  // A write error before close() is awaited still rejects close(); until then it must not be unhandled.
  done.catch(() => {});
  return {
    async write(cells) {
      if (!out.write(csvRecord(cells))) await Promise.race([once(out, "drain"), done]);
    },
    async close() {
      out.end();
      await done;
    },
  };
}
