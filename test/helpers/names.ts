import { randomBytes } from "node:crypto";

/** A name no other test (or earlier run) uses: `<prefix>-<time>-<random>`; valid as topic, group and queue name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}
