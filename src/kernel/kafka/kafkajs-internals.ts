/**
 * The one place that touches kafkajs's internal files, and the version they were read from.
 * package.json pins kafkajs to exactly this version; the check below refuses any other at
 * start-up, before a patch could replace a file that moved or changed meaning.
 */
import Module, { createRequire } from "node:module";
import { NonRetryableError } from "../errors.js";

const KAFKAJS_VERSION = "2.2.4";

class KafkajsVersionError extends NonRetryableError {
  readonly code = "ATT_KAFKAJS_VERSION";
}

const require = createRequire(import.meta.url);

const installed = (require("kafkajs/package.json") as { version: string }).version;
if (installed !== KAFKAJS_VERSION) {
  throw new KafkajsVersionError(`Unsupported kafkajs version ${installed}`, {
    details: [
      `Got: kafkajs ${installed} in node_modules`,
      `Expected: kafkajs ${KAFKAJS_VERSION} (src/kernel/kafka/ patches its internal files, read from that version)`,
      "Fix: run `npm ci` (package.json pins the version); to upgrade kafkajs, re-read the patched files in src/kernel/kafka/ against the new version first.",
    ],
  });
}

/** A kafkajs file, e.g. `src/consumer/filterAbortedMessages.js`, as `require` resolves it. */
function resolve(file: string): string {
  return require.resolve(`kafkajs/${file}`);
}

/** Marks our replacements: a module evaluated again (a test runner's isolation) sees its own install. */
const REPLACEMENT = Symbol.for("att.kafkajs.replacement");

/**
 * Puts `exports` in the module cache in place of kafkajs's `file`, so that kafkajs's own
 * `require` of it gets ours. kafkajs requires its files once, when it loads: `loadedWith` names a
 * kafkajs file that requires `file`; if that one is loaded already the replacement would come too
 * late, which is refused.
 */
export function replaceKafkajsFile(file: string, exports: object, opts: { loadedWith: string }): void {
  const path = resolve(file);
  if (isReplaced(file)) return;
  if (require.cache[resolve(opts.loadedWith)]) {
    throw new Error(
      `kafkajs was loaded before src/kernel/kafka/patches.ts: ${file} cannot be replaced any more. Import kafkajs only through src/kernel/kafka/ (tests: vitest setupFiles loads the patches first)`,
    );
  }
  Object.defineProperty(exports, REPLACEMENT, { value: true });
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = exports;
  require.cache[path] = m;
}

/** True when kafkajs's `file` is one of our replacements. */
export function isReplaced(file: string): boolean {
  const exports = require.cache[resolve(file)]?.exports as Record<symbol, unknown> | undefined;
  return exports?.[REPLACEMENT] === true;
}
