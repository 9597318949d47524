import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";
import { onTestFinished } from "vitest";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/**
 * Debian's chromium (`npm test` installs it: deploy/local/stack.sh install-browser), or the
 * browser ATT_CHROMIUM names. Undefined when there is none.
 */
export function findChromium(): string | undefined {
  const fromEnv = process.env.ATT_CHROMIUM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  for (const name of CANDIDATES) {
    try {
      const path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
      if (path) return path;
    } catch {
      // not installed under this name
    }
  }
  return undefined;
}

/** Headless Chromium for one test; closed when the test ends. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // As root (CI) Chromium refuses its sandbox; the page is our own local file.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  onTestFinished(() => browser.close());
  return browser;
}
