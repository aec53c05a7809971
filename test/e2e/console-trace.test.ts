/**
 * The trace app's public verification page in headless chromium, on a 2-organization network
 * that `archi up --apps` started, with items registered and moved through the CLI and the
 * console's verification identity configured (`archi trace verifier`). A label's link
 * `/verify?serial=...` shows the timeline checked against its proof in the browser; a wrong
 * code is not authentic, the first check is authentic and recorded, a second one is a likely
 * counterfeit with the first place; at a phone's width a recalled item shows its recall, the
 * page does not overflow sideways, and an unknown serial is proven unregistered.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, browserSkip, openBrowser } from './browser.ts';
import { archi, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork } from './network.ts';

describe('console: trace verification page', { skip: browserSkip, timeout: 400_000 }, () => {
  let dir: string;
  let consoleUrl: string;
  let browser: Browser | undefined;
  let phone: Browser | undefined;
  const codes = new Map<string, string>();

  before(async () => {
    dir = tempDir('archi-console-trace-');
    await initNetwork(dir, 2);
    const net = await up(dir, ['--apps']);
    assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
    consoleUrl = net.console;
    const run = async (...args: string[]) => {
      const r = await archi(['trace', ...args, '--dir', dir], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    for (const [batch, prefix] of [
      ['LG-A', 'A-'],
      ['LG-R', 'R-'],
    ]) {
      const file = join(dir, `${batch}.csv`);
      await run('batch', 'create', batch, '--product', 'Smart meter M3');
      await run('codes', '--prefix', prefix, '--count', '2', '--out', file);
      await run('register', batch, '--file', file);
      for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
        const [serial, code] = line.split(',');
        codes.set(serial, code);
      }
    }
    await run('grant', 'org2', '--steps', 'shipped');
    await run('event', 'A-000001', 'inspected', '--place', 'Lingang line 2');
    await run('event', 'A-000001', 'shipped', '--place', 'Yangshan port', '--as', 'org2/client');
    await run('recall', 'LG-R', '--reason', 'battery overheating');
    await run('verifier', 'org2/client');
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await phone?.close();
    await stopAll();
    removeDir(dir);
  });

  const check = async (b: Browser, code: string, place: string) => {
    await b.page.getByTestId('trace-code').fill(code);
    await b.page.getByTestId('trace-place').fill(place);
    await b.page.getByTestId('trace-check').click();
    const out = b.page.getByTestId('trace-outcome');
    await out.waitFor();
    return (await out.textContent()) ?? '';
  };

  it('shows the proven timeline and records the first check of a code', async () => {
    const b = browser as Browser;
    await b.page.goto(`${consoleUrl}/verify?serial=A-000001`);
    const item = b.page.getByTestId('trace-item');
    await item.getByTestId('verdict').waitFor();
    assert.match(
      (await item.getByTestId('verdict').textContent()) ?? '',
      /verified ✓ against block \d+ state root/,
    );
    assert.deepEqual(
      await item
        .locator('[data-testid^="step-"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid'))),
      ['step-produced', 'step-inspected', 'step-shipped'],
    );
    assert.match((await item.getByTestId('step-shipped').textContent()) ?? '', /org2 at Yangshan/);
    assert.equal(await item.getByTestId('trace-verdict').textContent(), 'Code not verified yet');

    assert.match(await check(b, codes.get('A-000002') as string, 'Shanghai'), /^Not authentic/);
    assert.match(await check(b, codes.get('A-000001') as string, 'Shanghai'), /^Authentic/);
    await item.getByText('Code verified once').waitFor();
    assert.match((await item.getByTestId('trace-first').textContent()) ?? '', /Shanghai/);
    await b.shot('trace-verify');

    const again = await check(b, codes.get('A-000001') as string, 'Wuhan');
    assert.match(again, /^Likely counterfeit.*first at Shanghai/);
    await item.getByText('Likely counterfeit: code verified more than once').waitFor();
    assert.deepEqual(b.problems, []);
  });

  it('at a phone width: a recalled item, no sideways overflow, an unknown serial', async () => {
    phone = await openBrowser({ viewport: { width: 390, height: 844 } });
    await phone.page.goto(`${consoleUrl}/verify?serial=R-000002`);
    const item = phone.page.getByTestId('trace-item');
    await item.getByTestId('trace-recalled').waitFor();
    assert.match(
      (await item.getByTestId('trace-recalled').textContent()) ?? '',
      /battery overheating/,
    );
    assert.match((await item.getByTestId('verdict').textContent()) ?? '', /verified ✓/);
    const overflow = await phone.page.evaluate(
      () =>
        (globalThis as any).document.documentElement.scrollWidth -
        (globalThis as any).document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    assert.match(
      await check(phone, codes.get('R-000002') as string, 'Hangzhou'),
      /^Authentic, but recalled.*battery overheating/,
    );
    await phone.shot('trace-verify-phone');

    await phone.page.goto(`${consoleUrl}/#/verify?serial=NOPE-1`);
    await phone.page.getByTestId('trace-unknown').waitFor();
    assert.deepEqual(phone.problems, []);
  });
});
