/**
 * Headless chromium for the console's browser tests: Debian's chromium driven by
 * playwright-core (no browser is ever downloaded), in a throwaway profile, with every error
 * the page logs collected so a test can fail on it, and full-page screenshots under
 * test-artifacts/console/. A test skips (with the reason) where chromium is missing, except in
 * CI, where a missing browser is a failure.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { removeDir, tempDir } from './harness.ts';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));
export const browserMissing = !existsSync(CHROMIUM);
/** The `skip` option of a browser test's describe(). */
export const browserSkip: string | false =
  browserMissing && process.env.CI !== 'true'
    ? `no chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (Debian) to run the browser test`
    : false;

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Errors the page logged or threw, in order. */
  problems: string[];
  /** A full-page screenshot from the top, as `<name>.png` under ARTIFACTS. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Launch chromium on a fresh profile. `ignore` matches console errors a test provokes on
 * purpose (they are not problems).
 */
export async function openBrowser(
  opts: { ignore?: RegExp; viewport?: { width: number; height: number } } = {},
): Promise<Browser> {
  if (browserMissing) throw new Error(`CI must have chromium at ${CHROMIUM} (.ci/run installs it)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = tempDir('archi-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    // Playwright's default, said outright: the gateway test downloads the usage CSV.
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !opts.ignore?.test(m.text())) {
      problems.push(`console.error: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return {
    context,
    page,
    problems,
    async shot(name) {
      // Let charts measure their width and fresh-row highlights settle, and start from the top
      // so the sticky header sits where a person would see it.
      // Callbacks of page.evaluate run in the page; globalThis because the root tsconfig has no DOM.
      await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      removeDir(profile);
    },
  };
}

/** The trimmed text of the cell `[data-col=col]` in `row`. */
export async function cell(row: Locator, col: string): Promise<string> {
  return ((await row.locator(`[data-col="${col}"]`).first().textContent()) ?? '').trim();
}
