/**
 * The web console in a real browser: Debian's chromium, driven headless by playwright-core
 * (no browser is ever downloaded), against a network started with `archi up`. It watches a
 * block arrive over the WebSocket without a reload, opens a tx, checks a proof in the page,
 * sends a tx from the browser, deploys a TypeScript contract and calls it, passes governance
 * proposals through the propose form (a config change, then a new non-validator member node
 * that the Organizations page lists), saves screenshots under test-artifacts/console/ and
 * fails on any error in the browser's console. On a two-node tbft network (which commits an
 * empty block every interval) it checks the Network page shows every validator badge whole
 * and the Transactions page still lists txs that the latest (empty) blocks pushed down, with
 * one GET /v1/blocks?nonEmpty=true rather than a request per empty block.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { getProfile } from '../../src/crypto/profile.ts';
import { hex } from '../../src/types/hex.ts';
import { type Browser, browserSkip, openBrowser } from './browser.ts';
import { archiJson, kvPut, removeDir, stopAll, tempDir, up } from './harness.ts';
// The console's own unit tests (hashes, header decoding, proofs, certificates) live next to
// its code; importing them here lets `npm test` run them.

const COUNTER = fileURLToPath(new URL('../../contracts/counter.ts', import.meta.url));
/** The contracts a new chain runs, in the order GET /v1/contracts lists them. */
const NATIVE_CONTRACTS = [
  'chain_config',
  'kv',
  'token',
  'evidence',
  'governance',
  'org_keys',
  'ibc',
  'contract_manage',
];

describe('web console in headless chromium', { skip: browserSkip, timeout: 420_000 }, () => {
  let dir: string;
  let consoleUrl: string;
  let browser: Browser;
  let page: Page;
  let txId: string;

  /** Text of the page that counts one thing with a plural noun ("1 methods", "1 blocks"). */
  const oneWithPlural = (): Promise<string[]> =>
    page.evaluate(() => {
      // The rendered text, as a reader sees it: blocks apart, hidden columns left out.
      // biome-ignore lint/performance/useDomNodeTextContent: textContent runs cells together
      const text: string = (globalThis as any).document.body.innerText;
      return [
        ...text.matchAll(
          /(?<![\d.,/])1 (methods|blocks|txs|transactions|events|proposals|validators|nodes|orgs|organizations|approvals|reads|keys|registered keys|sibling hashes|connections)\b/g,
        ),
      ].map((m) => m[0]);
    });

  /**
   * The contract tabs: each name's text against its own tab (a cut name overflows it), and
   * whether the tabs overlap each other or run past the list's visible width.
   */
  const contractTabs = () =>
    page.evaluate(() => {
      const d = (globalThis as any).document;
      const list = d.querySelector('.contract-tabs');
      const lb = list.getBoundingClientRect();
      const tabs = [...list.querySelectorAll('a')].map((a: any) => {
        const name = a.querySelector('strong');
        const range = d.createRange();
        range.selectNodeContents(name);
        const t = range.getBoundingClientRect();
        const r = a.getBoundingClientRect();
        return {
          name: name.textContent as string,
          box: { left: r.left, right: r.right, top: r.top, bottom: r.bottom },
          textInside: t.left >= r.left - 0.5 && t.right <= r.right + 0.5,
          nameOverflow: name.scrollWidth - name.clientWidth,
          inList: r.left >= lb.left - 0.5 && r.right <= lb.right + 0.5,
        };
      });
      return { overflow: list.scrollWidth - list.clientWidth, tabs };
    });

  const assertTabsWhole = async (where: string, names: string[]): Promise<void> => {
    const { overflow, tabs } = await contractTabs();
    assert.deepEqual(
      tabs.map((t) => t.name),
      names,
      `${where}: the tabs name every contract in full`,
    );
    assert.ok(overflow <= 0, `${where}: the tab list scrolls sideways by ${overflow}px`);
    for (const t of tabs) {
      assert.ok(
        t.textInside && t.nameOverflow <= 0,
        `${where}: ${t.name} is cut: ${JSON.stringify(t)}`,
      );
      assert.ok(t.inList, `${where}: ${t.name} runs past the tab list`);
    }
    for (const [i, a] of tabs.entries()) {
      for (const b of tabs.slice(i + 1)) {
        const apart =
          a.box.right <= b.box.left + 0.5 ||
          b.box.right <= a.box.left + 0.5 ||
          a.box.bottom <= b.box.top + 0.5 ||
          b.box.bottom <= a.box.top + 0.5;
        assert.ok(apart, `${where}: tabs ${a.name} and ${b.name} overlap`);
      }
    }
  };

  /** The Nodes table's state badges against the box that would scroll (and so clip) them. */
  const nodeBadges = () =>
    page.evaluate(() => {
      const d = (globalThis as any).document;
      const wrap = d.querySelector('[data-testid="nodes-table"]').closest('.table-wrap');
      const box = wrap.getBoundingClientRect();
      return {
        overflow: wrap.scrollWidth - wrap.clientWidth,
        badges: [...wrap.querySelectorAll('tbody .badge')].map((b: any) => {
          const r = b.getBoundingClientRect();
          const cell = b.closest('td').getBoundingClientRect();
          return {
            text: b.textContent as string,
            inBox: r.left >= box.left - 0.5 && r.right <= box.left + wrap.clientWidth + 0.5,
            inCell: r.left >= cell.left - 0.5 && r.right <= cell.right + 0.5,
          };
        }),
      };
    });

  before(async () => {
    dir = tempDir('archi-console-');
    const net = await up(dir, ['--nodes', '1']);
    assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
    consoleUrl = net.console;
    browser = await openBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await stopAll();
    if (dir) removeDir(dir);
  });

  it('shows the network and a new block without reloading', async () => {
    await page.goto(consoleUrl);
    await page.getByTestId('network-page').waitFor();
    await page.getByTestId('nodes-table').getByText('node1').waitFor();
    await page.locator('.live.live').waitFor();
    await browser.shot('network-1280');

    await page.goto(`${consoleUrl}/#/blocks`);
    await page.getByTestId('blocks-table').waitFor();
    // A reload would drop this marker; the new block must arrive over the WebSocket.
    await page.evaluate(() => {
      (globalThis as any).__noReload = true;
    });
    const sent = await kvPut(dir, '{"key":"city","value":"MA.156.1301.02"}');
    assert.equal(sent.status, 'ok');
    txId = sent.txId;
    const row = page.locator(`[data-testid="blocks-table"] tr[data-height="${sent.height}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => (globalThis as any).__noReload), true);
    await browser.shot('blocks-1280');

    await row.click();
    await page.getByTestId('block-detail').getByText(`Block ${sent.height}`).waitFor();
    await page.getByTestId('block-txs').waitFor();
    await browser.shot('block-1280');
    await page.getByTestId('block-txs').locator(`a[href="#/txs/${sent.txId}"]`).click();
    const tx = page.getByTestId('tx-detail');
    await tx.getByTestId('receipt').waitFor();
    assert.match((await tx.getByTestId('receipt').textContent()) ?? '', /ok/);
    assert.equal(
      Number(((await tx.getByTestId('gas-used').textContent()) ?? '').replace(/\D/g, '')),
      sent.gasUsed,
    );
    assert.match((await tx.getByTestId('events').textContent()) ?? '', /put/);
    await browser.shot('tx-1280');
  });

  it('runs a query and verifies its proof in the browser', async () => {
    await page.goto(`${consoleUrl}/#/state`);
    await page.getByTestId('query-contract').fill('kv');
    await page.getByTestId('query-method').fill('get');
    await page.getByTestId('query-args').fill('{"key":"city"}');
    await page.getByTestId('query-run').click();
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /verified ✓ against block \d+ state root/);
    assert.match((await page.getByTestId('query-result').textContent()) ?? '', /MA\.156\.1301\.02/);
    await page.getByTestId('tamper').click();
    assert.match((await page.getByTestId('tamper-result').textContent()) ?? '', /fails/);
    await browser.shot('state-1280');
  });

  it('invokes a contract from the browser and shows the receipt', async () => {
    await page.goto(`${consoleUrl}/#/contracts/kv`);
    const form = page.getByTestId('method-put');
    await form.getByTestId('identity').waitFor();
    await form.getByTestId('identity').selectOption('org1/admin');
    await form.locator('textarea').fill('{"key":"greeting","value":"hello from chromium"}');
    await form.getByRole('button', { name: 'Sign and send' }).click();
    const receipt = form.getByTestId('send-receipt');
    await receipt.waitFor({ timeout: 30_000 });
    assert.match((await receipt.textContent()) ?? '', /committed ✓/);
    const q = await archiJson([
      'query',
      '--dir',
      dir,
      '--contract',
      'kv',
      '--method',
      'get',
      '--args',
      '{"key":"greeting"}',
    ]);
    assert.equal(q.result, 'hello from chromium');

    const getForm = page.getByTestId('method-get');
    await getForm.locator('textarea').fill('{"key":"greeting"}');
    await getForm.getByRole('button', { name: 'Query' }).click();
    await getForm.getByTestId('call-result').getByText('hello from chromium').waitFor();
    await page.getByTestId('deploy').waitFor();
    // One method is "1 method": the tab counts use the console's plural helper.
    assert.match(
      (await page.getByTestId('contract-chain_config').textContent()) ?? '',
      /^chain_config1 method · native$/,
    );
    assert.match((await page.getByTestId('contract-kv').textContent()) ?? '', /3 methods/);
    assert.deepEqual(await oneWithPlural(), []);
    await browser.shot('contracts-1280');
  });

  it('deploys a TypeScript contract from the browser, invokes it and proves a query', async () => {
    // A refused import comes back as a 400 with the builder's message (asked from here, not
    // the page, so the browser logs no failed request).
    const refused = await fetch(`${consoleUrl}/console-api/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        as: 'org1/admin',
        name: 'bad',
        source: "import { readFileSync } from 'node:fs';\nexport const f = () => readFileSync;\n",
      }),
    });
    assert.equal(refused.status, 400);
    const err = ((await refused.json()) as any).error;
    assert.equal(err.code, 'CODE_INVALID');
    assert.match(err.message, /import "node:fs" is not allowed/);
    assert.doesNotMatch(err.message, /archi-console-deploy-/);

    await page.goto(`${consoleUrl}/#/contracts`);
    const deploy = page.getByTestId('deploy');
    await deploy.getByTestId('deploy-name').waitFor();
    const source = await deploy.getByTestId('deploy-code').inputValue();
    assert.equal(source, readFileSync(COUNTER, 'utf8'));
    await deploy.getByTestId('deploy-name').fill('counter');
    await deploy.getByTestId('identity').selectOption('org1/admin');
    await deploy.getByTestId('deploy-run').click();
    const deployed = deploy.getByTestId('send-receipt');
    await deployed.waitFor({ timeout: 30_000 });
    assert.match((await deployed.textContent()) ?? '', /committed ✓/);
    const row = page.getByTestId('deployed-counter');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /v1.*active/);
    await browser.shot('contracts-deploy-1280');

    await deploy.getByTestId('deploy-open').click();
    await page.getByTestId('contract-card').getByText('TypeScript · v1 · active').waitFor();
    // Seven contracts no longer fit one row at 1280 px: the tabs wrap, no name is cut.
    await assertTabsWhole('1280 px', [...NATIVE_CONTRACTS, 'counter']);
    const inc = page.getByTestId('method-increment');
    await inc.getByTestId('identity').selectOption('org1/admin');
    await inc.locator('textarea').fill('{"by": 5}');
    await inc.getByRole('button', { name: 'Sign and send' }).click();
    const receipt = inc.getByTestId('send-receipt');
    await receipt.waitFor({ timeout: 30_000 });
    assert.match((await receipt.textContent()) ?? '', /committed ✓/);
    assert.match((await receipt.textContent()) ?? '', /Incremented/);

    const get = page.getByTestId('method-get');
    await get.getByRole('button', { name: 'Query' }).click();
    const answer = get.getByTestId('call-result');
    await answer.getByTestId('verdict').waitFor();
    assert.match(
      (await answer.getByTestId('verdict').textContent()) ?? '',
      /verified ✓ against block \d+ state root/,
    );
    assert.match((await answer.locator('pre, .json').first().textContent()) ?? '', /^\s*5\s*$/);
    await browser.shot('contracts-counter-1280');
  });

  it('shows organizations, governance and the phone layout', async () => {
    await page.goto(`${consoleUrl}/#/orgs`);
    await page.getByTestId('members-org1').getByText('admin').first().waitFor();
    assert.match((await page.getByTestId('members-org1').textContent()) ?? '', /valid/);
    // The genesis validator is the one member node; its address lives in node.json, not on chain.
    const node1 = page.getByTestId('member-node-node1');
    await node1.waitFor();
    assert.equal(await node1.getAttribute('data-validator'), 'true');
    assert.match(
      (await node1.textContent()) ?? '',
      /node1\s*org1\s*dials in\s*validator · power \d+/,
    );
    assert.equal(await page.getByTestId('pending-validators').getAttribute('data-count'), '0');
    await browser.shot('orgs-1280');
    await page.goto(`${consoleUrl}/#/governance`);
    await page.getByTestId('proposals-card').getByText('No proposals yet').waitFor();
    // One organization under MAJORITY: the proposer's own approval meets the policy, so the
    // change executes in the proposing tx.
    const propose = page.getByTestId('propose');
    await propose.getByTestId('propose-kind').selectOption('set_kv_write_roles');
    for (const role of ['admin', 'client']) await propose.getByTestId(`role-${role}`).check();
    for (const role of ['consensus', 'common']) await propose.getByTestId(`role-${role}`).uncheck();
    assert.match(
      (await propose.getByTestId('propose-summary').textContent()) ?? '',
      /kv writers become: admin, client/,
    );
    await propose.getByTestId('identity').selectOption('org1/admin');
    await propose.getByTestId('propose-run').click();
    const proposed = propose.getByTestId('send-receipt');
    await proposed.waitFor({ timeout: 30_000 });
    assert.match((await proposed.textContent()) ?? '', /committed ✓/);
    const listed = page.locator('[data-testid="proposal-1"][data-status="executed"]');
    await listed.waitFor({ timeout: 15_000 });
    const text = (await listed.textContent()) ?? '';
    assert.match(text, /kv writers become: admin, client/);
    assert.match(text, /1\/1 approved/);
    assert.match(text, /org1\/admin/);
    const stored = await archiJson([
      'query',
      '--dir',
      dir,
      '--contract',
      'governance',
      '--method',
      'get',
      '--args',
      '{"id":1}',
    ]);
    assert.equal(stored.result.status, 'executed');
    assert.deepEqual(stored.result.args, { roles: ['admin', 'client'] });
    // The change applies from the next block; the policy card re-reads the config.
    await page.getByTestId('kv-writers').getByText('admin, client').waitFor({ timeout: 15_000 });
    await browser.shot('governance-1280');
    await listed.locator('a').click();
    const detail = page.getByTestId('proposal-detail');
    await detail.getByTestId('votes').getByText('approved').waitFor();
    assert.match((await detail.textContent()) ?? '', /voting is closed/);
    await browser.shot('governance-detail-1280');

    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, hash, testId] of [
      ['network', 'network', 'nodes-table'],
      ['blocks', 'blocks', 'blocks-table'],
      ['tx', `txs/${txId}`, 'receipt'],
      ['state', 'state', 'query-run'],
      ['contracts', 'contracts/kv', 'method-put'],
      ['orgs', 'orgs', 'members-org1'],
      ['governance', 'governance', 'proposal-1'],
      ['governance-detail', 'governance/1', 'votes'],
    ] as const) {
      await page.goto(`${consoleUrl}/#/${hash}`);
      await page.getByTestId(testId).waitFor();
      if (name === 'state') {
        await page.getByTestId('query-run').click();
        await page.getByTestId('verdict').waitFor();
      }
      const overflow = await page.evaluate(
        () =>
          (globalThis as any).document.documentElement.scrollWidth -
          (globalThis as any).document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 1, `${name} scrolls sideways by ${overflow}px at phone width`);
      assert.deepEqual(await oneWithPlural(), [], `${name} counts one thing in the plural`);
      if (name === 'contracts') {
        await assertTabsWhole('390 px', [...NATIVE_CONTRACTS, 'counter']);
      }
      await browser.shot(`${name}-390`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${consoleUrl}/#/network`);
    await page.getByTestId('nodes-table').waitFor();
    await browser.shot('network-dark-1280');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('adds a non-validator node through the propose form and lists it on the Organizations page', async () => {
    // A fresh consensus key for the new node; a solo chain refuses validators but takes
    // member nodes of power 0 (they follow the chain without voting).
    const key = hex(getProfile('standard').generateKeyPair().publicKey);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${consoleUrl}/#/governance`);
    const propose = page.getByTestId('propose');
    await propose.getByTestId('propose-kind').selectOption('add_node');
    const summary = propose.getByTestId('propose-summary');
    await propose.getByTestId('node-name').fill('node1');
    await propose.getByTestId('node-key').fill(key);
    assert.match((await summary.textContent()) ?? '', /node node1 is already a member/);
    await propose.getByTestId('node-name').fill('node9');
    await propose.getByTestId('node-power').fill('10');
    assert.match((await summary.textContent()) ?? '', /solo chain cannot take validators/);
    await propose.getByTestId('node-power').fill('0');
    assert.equal(await propose.getByTestId('node-org').inputValue(), 'org1');
    assert.equal(
      (await summary.textContent()) ?? '',
      'Proposes: add node node9 of org1 as non-validator (dials in)',
    );
    await propose.getByTestId('identity').selectOption('org1/admin');
    await browser.shot('governance-add-node-form-1280');
    await propose.getByTestId('propose-run').click();
    const proposed = propose.getByTestId('send-receipt');
    await proposed.waitFor({ timeout: 30_000 });
    assert.match((await proposed.textContent()) ?? '', /committed ✓/);
    // One organization under MAJORITY: the proposer's approval executes it at once.
    const listed = page.locator('[data-testid="proposal-2"][data-status="executed"]');
    await listed.waitFor({ timeout: 15_000 });
    assert.match((await listed.textContent()) ?? '', /add node node9 of org1 as non-validator/);
    const stored = await archiJson([
      'query',
      '--dir',
      dir,
      '--contract',
      'governance',
      '--method',
      'get',
      '--args',
      '{"id":2}',
    ]);
    assert.equal(stored.result.status, 'executed');
    assert.deepEqual(stored.result.args, { name: 'node9', org: 'org1', publicKey: key, power: 0 });
    await listed.locator('a').click();
    const detail = page.getByTestId('proposal-detail');
    await detail.getByTestId('detail-args').waitFor();
    assert.match((await detail.getByTestId('detail-args').textContent()) ?? '', /"node9"/);
    await browser.shot('governance-add-node-1280');

    // The node is a member from the next block; the Organizations page reads the config anew.
    await page.goto(`${consoleUrl}/#/orgs`);
    const row = page.getByTestId('member-node-node9');
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await row.getAttribute('data-validator'), 'false');
    assert.match((await row.textContent()) ?? '', /node9\s*org1\s*dials in\s*not a validator/);
    assert.equal(
      await page.getByTestId('member-node-node1').getAttribute('data-validator'),
      'true',
    );
    assert.equal(await page.getByTestId('member-nodes').locator('tbody tr').count(), 2);
    assert.equal(await page.getByTestId('pending-validators').getAttribute('data-count'), '0');
    assert.equal(await page.getByTestId('validators').locator('tbody tr').count(), 1);
    await browser.shot('orgs-nodes-1280');
  });

  it('shows whole validator badges and txs behind empty blocks on a tbft network', {
    timeout: 180_000,
  }, async () => {
    const tbDir = tempDir('archi-console-tbft-');
    let tb: Awaited<ReturnType<typeof up>> | undefined;
    try {
      tb = await up(tbDir, ['--nodes', '2']);
      assert.ok(tb.console);
      const base = tb.console;
      const rpc = tb.rpc;
      const head = async (): Promise<number> =>
        ((await (await fetch(`${rpc}/v1/status`)).json()) as any).height;

      // Network at 1280 px: a tbft node reports its step under the round, which used to push
      // the State column out of the Nodes card (the badge read "validato").
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(`${base}/#/network`);
      const table = page.getByTestId('nodes-table');
      await table.locator('tbody .badge', { hasText: 'validator' }).nth(1).waitFor();
      await table
        .getByText(/propose|prevote|precommit|commit/)
        .first()
        .waitFor();
      for (const width of [1280, 1024, 390]) {
        await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
        await page.waitForTimeout(200);
        const fit = await nodeBadges();
        assert.equal(fit.badges.length, 2);
        assert.ok(fit.overflow <= 0, `${width} px: the nodes table scrolls by ${fit.overflow}px`);
        for (const b of fit.badges) {
          assert.equal(b.text, 'validator');
          assert.ok(
            b.inBox && b.inCell,
            `${width} px: a validator badge is cut ${JSON.stringify(b)}`,
          );
        }
        if (width !== 1024) await browser.shot(`network-tbft-${width}`);
      }

      // Txs, then more empty blocks than the block feed loads on start (30): the newest
      // blocks hold none, and the page must look further back to list them.
      // Signed by the console server (no CLI process per tx); each waits for its block.
      const put = async (key: string): Promise<{ txId: string; height: number }> => {
        const res = await fetch(`${base}/console-api/sign-and-send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            as: 'org1/admin',
            contract: 'kv',
            method: 'put',
            args: { key, value: key },
          }),
        });
        const answer = (await res.json()) as any;
        assert.equal(res.status, 200, JSON.stringify(answer));
        assert.equal(answer.receipt.status, 'ok');
        return answer;
      };
      const sent = [];
      for (const key of ['k1', 'k2', 'k3']) sent.push(await put(key));
      const lastTx = Math.max(...sent.map((t) => t.height));
      // The feed loads the newest 30 blocks; all of them must come after the txs.
      const deadline = Date.now() + 90_000;
      while ((await head()) < lastTx + 32) {
        assert.ok(Date.now() < deadline, `the chain did not grow 32 blocks past ${lastTx}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      // A fresh load: the feed then holds only the latest (empty) blocks.
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto('about:blank');
      // The block requests the page makes to the node, as path and query.
      const asked: string[] = [];
      const onRequest = (r: { url(): string }) => {
        const u = new URL(r.url());
        if (u.origin === new URL(rpc).origin && u.pathname.startsWith('/v1/blocks')) {
          asked.push(`${u.pathname}${u.search}`);
        }
      };
      page.on('request', onRequest);
      await page.goto(`${base}/#/txs`);
      const recent = page.getByTestId('recent-txs');
      for (const t of sent) await recent.locator(`tr[data-tx="${t.txId}"]`).waitFor();
      const scope = page.getByTestId('recent-scope');
      await scope.getByText(/Every transaction on this chain/).waitFor({ timeout: 30_000 });
      page.off('request', onRequest);
      // Pages of the blocks with txs (GET /v1/blocks?nonEmpty=true: the look back, and one
      // more should the feed skip a height), then just the old blocks they listed: no walk
      // through the empty ones (the feed itself loads only the newest 30).
      const pages = asked.filter((a) => a.startsWith('/v1/blocks?'));
      assert.ok(pages.length >= 1, asked.join(' '));
      for (const a of pages) assert.match(a, /nonEmpty=true/);
      const olderFetched = asked
        .map((a) => /^\/v1\/blocks\/(\d+)$/.exec(a)?.[1])
        .filter((h) => h !== undefined && Number(h) <= lastTx)
        .map(Number)
        .sort((a, b) => a - b);
      assert.deepEqual(
        olderFetched,
        [...new Set(sent.map((t) => t.height))].sort((a, b) => a - b),
        asked.join(' '),
      );
      assert.match(
        (await scope.textContent()) ?? '',
        /^Every transaction on this chain: all \d+ blocks looked through\.$/,
      );
      assert.deepEqual(
        await recent
          .locator('tbody tr')
          .evaluateAll((rows) => rows.map((r: any) => r.getAttribute('data-tx'))),
        sent.map((t) => t.txId).reverse(),
        'newest first (each tx waited for its own block)',
      );
      assert.deepEqual(await oneWithPlural(), []);
      await browser.shot('txs-tbft-1280');

      // Live: a new tx shows up on top without a reload.
      const live = await put('k4');
      await recent.locator(`tbody tr:first-child[data-tx="${live.txId}"]`).waitFor({
        timeout: 15_000,
      });
      assert.equal(await recent.locator('tbody tr').count(), 4);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(
        () =>
          (globalThis as any).document.documentElement.scrollWidth -
          (globalThis as any).document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 1, `txs scrolls sideways by ${overflow}px at phone width`);
      await browser.shot('txs-tbft-390');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
      // Leave the page first: its WebSocket would otherwise hold the node's shutdown open
      // (and, were this test to fail, log errors in the tests after it).
      await page.goto('about:blank');
      await tb?.proc.stop();
      removeDir(tbDir);
    }
  });

  it('verifies proofs of a gm (SM2/SM3) chain with the pure-TypeScript SM3', async () => {
    const gmDir = tempDir('archi-console-gm-');
    try {
      const gm = await up(gmDir, ['--nodes', '1', '--crypto', 'gm']);
      assert.ok(gm.console);
      await kvPut(gmDir, '{"key":"city","value":"gm-city"}');
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(`${gm.console}/#/state`);
      await page.getByTestId('query-run').click();
      const verdict = page.getByTestId('verdict');
      await verdict.waitFor();
      assert.match((await verdict.textContent()) ?? '', /verified ✓ against block \d+ state root/);
      assert.match((await page.getByTestId('proof-result').textContent()) ?? '', /SM3/);
      await browser.shot('state-gm-1280');
      // Leave the page first: its WebSocket would otherwise hold the node's shutdown open.
      await page.goto('about:blank');
      await gm.proc.stop();
    } finally {
      removeDir(gmDir);
    }
  });

  it('logged no errors in the browser console', () => {
    assert.deepEqual(browser.problems, []);
  });
});
