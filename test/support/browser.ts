// A headless Chromium for the dashboard's browser tests (test/ui/): Debian's `chromium` (scripts/install-chromium.mjs
// installs it; run-tests.mjs runs that first), driven by playwright-core, which downloads no browser of its own.
// A machine without it fails the tests, saying what to run: they are never skipped.
import { mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { isExecutable, repoRoot } from "./processes.js";

/** Where the tests save screenshots of each page (gitignored; docs/images/ holds the copies the README shows). */
export const artifactsDir = join(repoRoot(), "artifacts", "ui");

/** $CHROMIUM_BIN, else `chromium` on PATH; throws saying how to install it. */
export function findChromium(): string {
  const chosen = process.env.CHROMIUM_BIN;
  if (chosen) {
    if (!isExecutable(chosen)) throw new Error(`CHROMIUM_BIN=${chosen} is not an executable file`);
    return chosen;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "chromium"))) return join(dir, "chromium");
  }
  throw new Error("no chromium on PATH for the browser tests: run `node scripts/install-chromium.mjs` (Debian's chromium package), or set CHROMIUM_BIN");
}

/**
 * Chromium, headless, with a new empty profile (playwright's). The flags keep it off the network: this machine's is closed, and
 * Chromium's background connections (updates, sync, safe browsing) are refused many at a time otherwise.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page of 1366×768, the laptop screen the dashboard is made for; errors in the page fail the test that reads them. */
export async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console error: ${msg.text()}`);
  });
  return { page, errors };
}

/** Saves a screenshot of the page as artifacts/ui/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
