/**
 * The web console on a network whose nodes host two chains, in headless chromium (Debian's,
 * driven by playwright-core): `archi init` with two orgs (a tbft chain on node1 and node2),
 * then `archi chain new --orgs org2` makes "beta", a solo chain that only node2 hosts.
 *
 * It checks that the switcher lists both chains, that the choice goes into the URL and local
 * storage, that the Blocks and Network pages show the other chain's heights, that the
 * Network page marks which node hosts which chain, that a tx signed by the console server
 * lands on the chosen chain, that no page asks node1 about beta (it would answer 404
 * CHAIN_NOT_FOUND), and that the browser logs no errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, browserSkip, openBrowser } from './browser.ts';
import { archi, removeDir, stopAll, tempDir, up } from './harness.ts';

const FIRST = 'archipelago-local';
const BETA = 'beta';

const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

describe('web console across two chains', { skip: browserSkip, timeout: 300_000 }, () => {
  let dir: string;
  let consoleUrl: string;
  let rpc1: string;
  let rpc2: string;
  let browser: Browser;
  let page: Page;
  /** Paths the page asked node1 for (it hosts only the first chain). */
  const askedNode1: string[] = [];
  /** Paths the page asked any node for. */
  const askedNodes: string[] = [];

  const status = async (rpc: string, chain?: string): Promise<any> => {
    const res = await fetch(`${rpc}${chain ? `/v1/chains/${chain}` : '/v1'}/status`);
    assert.equal(res.status, 200);
    return res.json();
  };

  /** The chain ids the switcher offers, once it offers `n`. */
  const switcherChains = async (n: number): Promise<string[]> => {
    const picker = page.getByTestId('chain-picker');
    await picker
      .locator('option')
      .nth(n - 1)
      .waitFor({ state: 'attached' });
    return picker.locator('option').evaluateAll((os) => os.map((o: any) => o.value as string));
  };

  /** The heights the Blocks page lists, newest first. */
  const listedHeights = (): Promise<number[]> =>
    page
      .locator('[data-testid="blocks-table"] tbody tr[data-height]')
      .evaluateAll((rows) => rows.map((r: any) => Number(r.getAttribute('data-height'))));

  before(async () => {
    dir = tempDir('archi-console-chains-');
    const init = await archi(['init', '--dir', dir, '--orgs', '2']);
    assert.equal(init.code, 0, init.stderr);
    // beta: org2 alone, so a solo chain that node2 hosts (archi up adds it to node2's node.json).
    const beta = await archi(['chain', 'new', '--dir', dir, '--name', BETA, '--orgs', 'org2']);
    assert.equal(beta.code, 0, beta.stderr);
    const net = await up(dir);
    assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
    consoleUrl = net.console;
    const nodes = readJson(join(dir, 'network.json')).nodes as Array<{ name: string; rpc: string }>;
    rpc1 = nodes.find((n) => n.name === 'node1')!.rpc;
    rpc2 = nodes.find((n) => n.name === 'node2')!.rpc;
    browser = await openBrowser();
    page = browser.page;
    page.on('response', (r) => {
      if (r.status() >= 400) browser.problems.push(`${r.status()} from ${r.url()}`);
    });
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin === new URL(rpc1).origin) askedNode1.push(u.pathname);
      if (u.origin !== new URL(consoleUrl).origin) askedNodes.push(u.pathname);
    });
  });

  after(async () => {
    await browser?.close();
    await stopAll();
    if (dir) removeDir(dir);
  });

  it('the nodes host what node.json lists', async () => {
    const chains = (await (await fetch(`${rpc2}/v1/chains`)).json()) as any;
    assert.deepEqual(
      chains.chains.map((c: any) => c.id),
      [FIRST, BETA],
    );
    const res = await fetch(`${rpc1}/v1/chains/${BETA}/status`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as any).error.code, 'CHAIN_NOT_FOUND');
  });

  it('lists both chains, starts on the first and marks which node hosts which', async () => {
    await page.goto(`${consoleUrl}/#/network`);
    assert.deepEqual(await switcherChains(2), [FIRST, BETA]);
    assert.equal(await page.getByTestId('chain-picker').inputValue(), FIRST);
    assert.equal(new URL(page.url()).searchParams.get('chain'), FIRST);
    const cell = (node: string, chain: string) => page.getByTestId(`chain-cell-${node}-${chain}`);
    await cell('node2', BETA).and(page.locator('[data-hosted="true"]')).waitFor();
    assert.equal(await cell('node1', BETA).getAttribute('data-hosted'), 'false');
    assert.match((await cell('node1', BETA).textContent()) ?? '', /not hosted/);
    assert.equal(await cell('node1', FIRST).getAttribute('data-hosted'), 'true');
    assert.equal(await cell('node2', FIRST).getAttribute('data-hosted'), 'true');
    assert.match((await cell('node2', BETA).textContent()) ?? '', /#0\s*validator\s*round 0/);
    // The first chain: both nodes in the Nodes table, both validators.
    const table = page.getByTestId('nodes-table');
    await table.locator('tbody .badge', { hasText: 'validator' }).nth(1).waitFor();
    assert.deepEqual(await page.getByTestId('node-picker').locator('option').allTextContents(), [
      'node1',
      'node2',
    ]);
    await browser.shot('chains-network-first-1280');
  });

  it('switches to the second chain: URL, storage, node picker and the Network page follow', async () => {
    await page.getByTestId('chain-picker').selectOption(BETA);
    await page.waitForURL((u) => u.searchParams.get('chain') === BETA);
    assert.equal(new URL(page.url()).hash, '#/network');
    assert.equal(
      await page.evaluate(() => (globalThis as any).localStorage.getItem('archi-console-chain')),
      BETA,
    );
    // Only node2 hosts beta: it is the only node to read it from.
    await page.getByTestId('node-picker').locator('option').first().waitFor({ state: 'attached' });
    assert.deepEqual(await page.getByTestId('node-picker').locator('option').allTextContents(), [
      'node2',
    ]);
    const rows = page.getByTestId('nodes-table').locator('tbody tr');
    await rows.first().getByText('node2').waitFor();
    assert.equal(await rows.count(), 1);
    assert.match(
      (await page.getByTestId('not-hosting').textContent()) ?? '',
      /node1 does not host beta/,
    );
    // Not "down": node1 is up, it just does not host beta.
    assert.doesNotMatch((await page.getByTestId('nodes-table').textContent()) ?? '', /down/);
    await page.getByTestId('height').getByText('0', { exact: true }).waitFor();
  });

  it('sends a tx on the chosen chain from the browser; Blocks and Network show its heights', async () => {
    const before = (await status(rpc2, BETA)).height;
    assert.equal(before, 0);
    await page.goto(`${consoleUrl}/?chain=${BETA}#/contracts/kv`);
    const form = page.getByTestId('method-put');
    await form.getByTestId('identity').waitFor();
    await form.getByTestId('identity').selectOption('org2/admin');
    await form.locator('textarea').fill('{"key":"where","value":"on beta"}');
    await form.getByRole('button', { name: 'Sign and send' }).click();
    const receipt = form.getByTestId('send-receipt');
    await receipt.waitFor({ timeout: 30_000 });
    assert.match((await receipt.textContent()) ?? '', /committed ✓/);
    const beta = await status(rpc2, BETA);
    assert.equal(beta.height, 1, 'the tx made beta block 1');
    // The first chain (tbft) has gone on cutting blocks meanwhile, and holds no such key.
    const first = await status(rpc1);
    assert.ok(first.height > beta.height + 1, `first chain at ${first.height}`);
    const q = await fetch(`${rpc1}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contract: 'kv', method: 'get', args: { key: 'where' } }),
    });
    assert.equal(((await q.json()) as any).result, null);

    await page.goto(`${consoleUrl}/?chain=${BETA}#/blocks`);
    await page.locator('[data-testid="blocks-table"] tr[data-height="1"]').waitFor();
    assert.deepEqual(await listedHeights(), [1, 0]);
    await browser.shot('chains-blocks-beta-1280');

    await page.goto(`${consoleUrl}/?chain=${BETA}#/network`);
    await page.getByTestId('height').getByText('1', { exact: true }).waitFor();
    await page
      .getByTestId(`chain-cell-node2-${BETA}`)
      .and(page.locator('[data-height="1"]'))
      .waitFor();
    await browser.shot('chains-network-beta-1280');

    // The proof of beta's state checks out in the page against beta's block.
    await page.goto(`${consoleUrl}/?chain=${BETA}#/state`);
    await page.getByTestId('query-contract').fill('kv');
    await page.getByTestId('query-method').fill('get');
    await page.getByTestId('query-args').fill('{"key":"where"}');
    await page.getByTestId('query-run').click();
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /verified ✓ against block 1 state root/);
    assert.match((await page.getByTestId('query-result').textContent()) ?? '', /on beta/);
  });

  it('keeps the chain in a link and in storage, and switches back', async () => {
    // Local storage: a plain link opens the chain picked last.
    await page.goto(`${consoleUrl}/#/blocks`);
    await page.locator('[data-testid="blocks-table"] tr[data-height="1"]').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('chain'), BETA);
    assert.equal(await page.getByTestId('chain-picker').inputValue(), BETA);
    // Back to the first chain from the switcher: its (higher) heights come back.
    await page.getByTestId('chain-picker').selectOption(FIRST);
    await page.waitForURL((u) => u.searchParams.get('chain') === FIRST);
    const head = (await status(rpc1)).height;
    await page.waitForFunction(
      (h) =>
        Number(
          (globalThis as any).document
            .querySelector('[data-testid="blocks-table"] tbody tr[data-height]')
            ?.getAttribute('data-height'),
        ) >= h,
      head,
      { timeout: 15_000 },
    );
    assert.ok((await listedHeights())[0] > 1);
    assert.equal(new URL(page.url()).hash, '#/blocks');
    // History: back returns to beta.
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('chain') === BETA);
    await page.locator('[data-testid="blocks-table"] tr[data-height="1"]').waitFor();
    assert.deepEqual(await listedHeights(), [1, 0]);
    // A shared link wins over storage.
    await page.goto(`${consoleUrl}/?chain=${FIRST}#/network`);
    assert.equal(await page.getByTestId('chain-picker').inputValue(), FIRST);
    await page.getByTestId('nodes-table').locator('tbody tr').nth(1).waitFor();
  });

  it('says so when a link names a chain no node hosts, and asks no node about it', async () => {
    await page.goto(`${consoleUrl}/?chain=gamma#/blocks`);
    await page
      .getByTestId('no-host')
      .getByText(/No node of this network hosts chain gamma/)
      .waitFor();
    assert.equal(await page.getByTestId('chain-picker').inputValue(), 'gamma');
    assert.deepEqual(await switcherChains(3), [FIRST, BETA, 'gamma']);
    // One click back to a chain that is there; the link's choice never reached storage.
    await page
      .getByTestId('no-host')
      .getByRole('button', { name: `Open ${FIRST}` })
      .click();
    await page.waitForURL((u) => u.searchParams.get('chain') === FIRST);
    await page.getByTestId('blocks-table').waitFor();
    assert.deepEqual(await switcherChains(2), [FIRST, BETA]);
  });

  it('the console server signs on the chosen chain and names a chain it cannot use', async () => {
    const send = (body: object) =>
      fetch(`${consoleUrl}/console-api/sign-and-send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ as: 'org2/admin', contract: 'kv', method: 'put', ...body }),
      });
    const ok = await send({ chain: BETA, args: { key: 'two', value: '2' } });
    const answer = (await ok.json()) as any;
    assert.equal(ok.status, 200, JSON.stringify(answer));
    assert.equal(answer.receipt.status, 'ok');
    assert.equal(answer.height, 2);
    const refused = await send({ chain: 'gamma', args: { key: 'x', value: 'y' } });
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as any).error.code, 'CHAIN_NOT_FOUND');
    const bad = await send({ chain: 42, args: {} });
    assert.equal(bad.status, 400);
  });

  it('never asked node1 about beta, and logged no errors in the browser', async () => {
    await page.goto('about:blank');
    assert.ok(askedNode1.length > 0, 'node1 was asked about the first chain');
    assert.deepEqual(
      askedNode1.filter((p) => p.includes(`/chains/${BETA}`)),
      [],
    );
    assert.deepEqual(
      askedNodes.filter((p) => p.includes('/chains/gamma')),
      [],
    );
    assert.deepEqual(browser.problems, []);
  });
});
