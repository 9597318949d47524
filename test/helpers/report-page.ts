import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";

/**
 * Records what a page of a self-contained HTML report must not do: requests that leave the
 * file (`requests`) and script errors (`errors`; with `consoleErrors`, also console.error lines).
 */
export function watchPage(
  page: Page,
  o: { consoleErrors?: boolean } = {},
): { requests: string[]; errors: string[] } {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  if (o.consoleErrors)
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
  return { requests, errors };
}

/** Kept for a human look: a full-page screenshot at .local/reports/<name> (ATT_LOCAL_DIR/reports). */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  const reports = join(process.env.ATT_LOCAL_DIR ?? ".local", "reports");
  mkdirSync(reports, { recursive: true });
  await page.screenshot({ path: join(reports, name), fullPage: true });
}
