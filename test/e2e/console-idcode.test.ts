/**
 * The console's City codes page in headless chromium, on a 2-organization network that
 * `archi up --apps` started with idcode deployed and a few codes issued through the CLI: the
 * tree opens from the root down, a revoked code is marked, a selected code is verified in the
 * browser against its proof (and an unknown one proven absent), the search box resolves codes
 * and lists codes by prefix, and the page logs no errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, browserSkip, openBrowser } from './browser.ts';
import { archi, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork } from './network.ts';

describe('console: city codes', { skip: browserSkip, timeout: 400_000 }, () => {
  let dir: string;
  let consoleUrl: string;
  let browser: Browser;
  let page: Page;

  before(async () => {
    dir = tempDir('archi-console-idcode-');
    await initNetwork(dir, 2);
    const net = await up(dir, ['--apps']);
    assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
    consoleUrl = net.console;
    const run = async (...args: string[]) => {
      const r = await archi(['idcode', ...args, '--dir', dir], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await run('root', 'MA.156', '--to', 'org1', '--name', 'China');
    await run('register', 'MA.156.1301', '--name', 'Shijiazhuang', '--kind', 'city');
    await run(
      'register',
      'MA.156.1301.01',
      '--name',
      'Urban management bureau',
      '--kind',
      'department',
    );
    await run(
      'register',
      'MA.156.1301.02',
      '--name',
      'Traffic management department',
      '--kind',
      'department',
    );
    await run('revoke', 'MA.156.1301.01');
    browser = await openBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await stopAll();
    removeDir(dir);
  });

  const expand = async (code: string) => {
    const item = page.getByTestId(`tree-${code}`);
    await item.locator('button').first().click();
  };

  it('opens the tree from the root and verifies a selected code in the browser', async () => {
    await page.goto(`${consoleUrl}#/idcode`);
    await page.getByTestId('tree-MA.156').waitFor();
    await expand('MA.156');
    await expand('MA.156.1301');
    const revoked = page.getByTestId('tree-MA.156.1301.01');
    await revoked.waitFor();
    assert.match((await revoked.textContent()) ?? '', /Urban management bureau.*revoked/);
    await page.getByTestId('tree-MA.156.1301.02').locator('a').click();
    const detail = page.getByTestId('code-detail');
    await detail.getByTestId('verdict').waitFor();
    assert.match(
      (await detail.getByTestId('verdict').textContent()) ?? '',
      /verified ✓ against block \d+ state root/,
    );
    assert.equal(
      await detail.getByTestId('code-name').textContent(),
      'Traffic management department',
    );
    assert.equal(await detail.getByTestId('code-owner').textContent(), 'org1');
    await detail.getByTestId('code-history').getByText('Issued').waitFor();
    await browser.shot('idcode');
  });

  it('searches by prefix, resolves a typed code and proves an unknown one absent', async () => {
    await page.getByTestId('idcode-search').fill('MA.156.13');
    await page.getByTestId('idcode-search-run').click();
    const found = page.getByTestId('idcode-found');
    await found.getByText('MA.156.1301.02').waitFor();
    assert.match((await found.textContent()) ?? '', /Shijiazhuang/);

    await page.getByTestId('idcode-search').fill('ma.156.1301.09');
    await page.getByTestId('idcode-search-run').click();
    await page.getByTestId('code-absent').waitFor();
    assert.match(
      (await page.getByTestId('code-detail').getByTestId('verdict').textContent()) ?? '',
      /verified ✓/,
    );
    assert.match(page.url(), /#\/idcode\/MA\.156\.1301\.09$/);
    assert.deepEqual(browser.problems, []);
  });
});
