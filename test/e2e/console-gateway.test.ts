/**
 * The web console's gateway pages in headless chromium (Debian's, driven by playwright-core),
 * on a one-node network from `archi up` with its service gateway: a tenant with two apps (one
 * per key mode) made with the CLI, their contracts deployed and called through the gateway
 * (`archi app deploy|call`), then in the browser the operator view (the tenant, the load of
 * the chain, health), the tenant portal (both apps, their identities' certificates, a quota
 * changed through the form and read back with `archi app show`), the usage charts, table and
 * CSV download and the month's bill against what the CLI reports, and what the pages say
 * when the gateway stops answering, when network.json records none, and when one starts again
 * (found without a reload). The admin token must never reach the browser, and the browser
 * must log no errors.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { type Browser, browserSkip, openBrowser } from './browser.ts';
import { archi, removeDir, startArchi, stopAll, tempDir } from './harness.ts';

const COUNTER = fileURLToPath(new URL('../../contracts/counter.ts', import.meta.url));
const CHAIN = 'archipelago-local';

/** Prices high enough that a handful of calls bills whole cents. */
const PRICES = {
  currency: 'USD',
  minorDigits: 2,
  perTx: '0.25',
  perQuery: '0.01',
  perGbMonth: '0.5',
};

/** Minor units as `archi tenant bill` prints them. */
const money = (minor: number, digits: number): string => {
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  return `${minor < 0 ? '-' : ''}${digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s}`;
};

describe('web console: the gateway pages in headless chromium', {
  skip: browserSkip,
  timeout: 600_000,
}, () => {
  let dir: string;
  let consoleUrl: string;
  let gatewayPid: number;
  let token: string;
  let browser: Browser;
  let page: Page;
  let tenantId: string;
  const apps: Record<'shop' | 'vault', { id: string; namespace: string }> = {} as any;
  /** Bodies of every /console-api/ answer the page got, to look for the token in. */
  const seen: string[] = [];
  const cli = (...args: string[]) => cliJson(dir, ...args);

  /** The text of a cell `[data-col=col]` in `row`: strict, a second match fails the test. */
  const cell = async (row: ReturnType<Page['locator']>, col: string): Promise<string> =>
    ((await row.locator(`[data-col="${col}"]`).textContent()) ?? '').trim();

  before(async () => {
    dir = tempDir('archi-console-gw-');
    // A new embedded database is an initdb: on a busy machine that takes a while.
    const proc = startArchi(['up', '--dir', dir, '--nodes', '1']);
    await proc.waitFor(/press Ctrl-C/, 420_000);
    const c = proc.out.match(/^ {2}console (http\S+)$/m);
    const g = proc.out.match(/^ {2}gateway (http\S+) {2}pid (\d+)$/m);
    assert.ok(c, `archi up printed no console URL:\n${proc.out}\n${proc.err}`);
    assert.ok(g, `archi up printed no gateway:\n${proc.out}\n${proc.err}`);
    consoleUrl = c[1];
    gatewayPid = Number(g[2]);
    token = readFileSync(join(dir, 'gateway', 'admin.token'), 'utf8').trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    // The gateway reads its price table at every bill.
    writeFileSync(join(dir, 'gateway', 'prices.json'), JSON.stringify(PRICES));

    tenantId = (await cli('tenant', 'create', 'acme')).id;
    await cli('tenant', 'create', 'globex');
    for (const [name, extra] of [
      ['shop', []],
      ['vault', ['--mode', 'trust', '--tps', '7']],
    ] as const) {
      const a = await cli('app', 'create', '--tenant', 'acme', '--name', name, ...extra);
      apps[name] = { id: a.id, namespace: a.namespace };
    }
    // Each app deploys its counter and calls it through the gateway: shop 3 txs (deploy and
    // two increments) and a query, vault 2 txs and two queries.
    const calls = (name: 'shop' | 'vault', increments: number, queries: number) => async () => {
      const d = await cli('app', 'deploy', '--app', name, 'counter', COUNTER);
      assert.equal(d.status, 'deployed', JSON.stringify(d));
      for (let i = 0; i < increments; i++) {
        const r = await cli(
          'app',
          'call',
          '--app',
          name,
          '--contract',
          'counter',
          '--method',
          'increment',
          '--wait',
        );
        assert.equal(r.receipt.status, 'ok', JSON.stringify(r));
      }
      for (let i = 0; i < queries; i++) {
        const q = await cli(
          'app',
          'call',
          '--app',
          name,
          '--contract',
          'counter',
          '--method',
          'get',
          '--query',
        );
        assert.equal(q.result, increments, JSON.stringify(q));
      }
    };
    await Promise.all([calls('shop', 2, 1)(), calls('vault', 1, 2)()]);

    // The pages ask for the gateway while it is stopped on purpose: those 503s are expected.
    browser = await openBrowser({ ignore: /503 \(Service Unavailable\)/ });
    page = browser.page;
    page.on('request', (r) => {
      for (const [k, v] of Object.entries(r.headers())) {
        if (v.includes(token)) {
          browser.problems.push(`the page sent the token in ${k} to ${r.url()}`);
        }
      }
    });
    page.on('response', async (r) => {
      if (!r.url().includes('/console-api/')) return;
      const headers = JSON.stringify(await r.allHeaders());
      const body = await r.text().catch(() => '');
      seen.push(headers, body);
    });
  });

  after(async () => {
    await browser?.close();
    await stopAll();
    if (dir) removeDir(dir);
  });

  it('the operator view lists the tenant, its usage and the chain load', async () => {
    const tenants: any[] = await cli('tenant', 'list');
    const acme = tenants.find((t) => t.name === 'acme');
    // Txs: two deploys and three increments (queries depend on how the SDK asks: from the CLI).
    assert.deepEqual([acme.apps, acme.total.txs], [2, 5]);
    assert.ok(acme.total.queries >= 3);

    await page.goto(`${consoleUrl}/#/gateway`);
    await page.getByTestId('gateway-page').waitFor();
    const row = page.locator('[data-testid="tenants-table"] tr[data-tenant="acme"]');
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await cell(row, 'apps'), '2');
    assert.equal(await cell(row, 'txs'), String(acme.total.txs));
    assert.equal(await cell(row, 'queries'), String(acme.total.queries));
    assert.equal(await cell(row, 'rejected'), String(acme.total.rejected));
    const globex = page.locator('[data-testid="tenants-table"] tr[data-tenant="globex"]');
    assert.equal(await cell(globex, 'apps'), '0');

    // Every call was today (UTC), on the network's one chain.
    const load = page.locator(`[data-testid="load-table"] tr[data-chain="${CHAIN}"]`);
    await load.waitFor();
    assert.equal(await cell(load, 'apps'), '2');
    assert.equal(await cell(load, 'txs'), String(acme.total.txs));
    assert.equal(await cell(load, 'queries'), String(acme.total.queries));
    assert.match((await page.getByTestId('gateway-health').textContent()) ?? '', /ok/);
    assert.equal(await page.getByTestId('stat-tenants').textContent(), '2');
    await browser.shot('gateway-operator-1280');
  });

  it('the tenant portal shows both apps and changes a quota through the form', async () => {
    await page.locator('[data-testid="tenants-table"] tr[data-tenant="acme"] a').click();
    await page.getByTestId('tenant-page').waitFor();
    assert.equal(new URL(page.url()).hash, `#/tenants/${tenantId}`);
    const table = page.getByTestId('apps-table');
    await table.locator('tr[data-app="shop"]').waitFor({ timeout: 30_000 });
    const shopRow = table.locator('tr[data-app="shop"]');
    const vaultRow = table.locator('tr[data-app="vault"]');
    assert.match((await shopRow.textContent()) ?? '', /key upload/);
    assert.match((await vaultRow.textContent()) ?? '', /key trust/);
    assert.equal(await cell(vaultRow, 'tps'), '7');
    assert.equal(await cell(shopRow, 'tps'), '—');

    // Each app's identity: a client certificate of the gateway's org, valid now.
    for (const name of ['shop', 'vault'] as const) {
      const card = page.getByTestId(`app-${name}`);
      assert.equal(await card.getByTestId('namespace').textContent(), apps[name].namespace);
      const shown = await cli('app', 'show', '--app', name);
      const id = card.locator('[data-testid="identities-table"] tr[data-identity="default"]');
      await id.waitFor();
      const subject = (await id.getByTestId('cert-subject').textContent()) ?? '';
      assert.match(subject, /^O=org1, OU=client, CN=\S+/);
      assert.match(subject, /issuer O=org1, CN=ca\.org1/);
      assert.match((await id.getByTestId('cert-validity').textContent()) ?? '', /valid/);
      assert.ok(
        ((await id.locator('.hash').getAttribute('title')) ?? '') === shown.identities[0].publicKey,
        `${name}: the page shows the identity's public key`,
      );
    }

    // shop: 12 tx/s and 3000 tx/day through the form; the CLI reads them back.
    const shop = page.getByTestId('app-shop');
    await shop.getByTestId('quota-tps').fill('12');
    await shop.getByTestId('quota-tpd').fill('3000');
    await shop.getByTestId('quota-save').click();
    await shop.getByTestId('quota-saved').waitFor({ timeout: 30_000 });
    assert.match(
      (await shop.getByTestId('quota-saved').textContent()) ?? '',
      /12 tx\/s, 3,000 tx\/day/,
    );
    let shown = await cli('app', 'show', '--app', 'shop');
    assert.deepEqual([shown.app.tps, shown.app.tpd], [12, 3000]);
    await page.waitForFunction(
      () =>
        (globalThis as any).document.querySelector(
          '[data-testid="apps-table"] tr[data-app="shop"] [data-col="tps"]',
        )?.textContent === '12',
    );
    // vault: its limit removed (an empty field is no limit).
    const vault = page.getByTestId('app-vault');
    await vault.getByTestId('quota-tps').fill('');
    await vault.getByTestId('quota-save').click();
    await vault.getByTestId('quota-saved').waitFor({ timeout: 30_000 });
    shown = await cli('app', 'show', '--app', 'vault');
    assert.deepEqual([shown.app.tps, shown.app.tpd], [null, null]);
    // A bad value is refused in the page and nothing is sent.
    await vault.getByTestId('quota-tpd').fill('0');
    assert.equal(await vault.getByTestId('quota-save').isDisabled(), true);
    assert.match((await vault.textContent()) ?? '', /at least 1/);
    await vault.getByTestId('quota-tpd').fill('');
    await browser.shot('gateway-tenant-1280');
  });

  it('the usage charts, table, CSV and bill show what the CLI reports', async () => {
    const usage = {
      shop: await cli('app', 'usage', '--app', 'shop'),
      vault: await cli('app', 'usage', '--app', 'vault'),
    };
    assert.deepEqual([usage.shop.total.txs, usage.vault.total.txs], [3, 2]);
    assert.ok(usage.shop.total.queries >= 1 && usage.vault.total.queries >= 2);
    const today = usage.shop.rows[0].day as string;
    const sum = (k: string) => usage.shop.total[k] + usage.vault.total[k];

    const total = page.getByTestId('usage-total');
    await total.waitFor();
    for (const k of ['txs', 'queries', 'gas', 'bytesWritten', 'rejected']) {
      assert.equal(await cell(total, k), String(sum(k)), `usage total ${k}`);
    }
    assert.ok(sum('gas') > 0 && sum('bytesWritten') > 0);
    const txs = page.getByTestId('chart-txs');
    assert.equal(await txs.getAttribute('data-total'), String(sum('txs')));
    const bar = txs.locator(`rect[data-day="${today}"]`);
    assert.equal(await bar.getAttribute('data-value'), String(sum('txs')));
    assert.equal(await bar.locator('title').textContent(), `${sum('txs')} txs on ${today}`);
    assert.equal(
      await page.getByTestId('chart-queries').getAttribute('data-total'),
      String(sum('queries')),
    );
    // One app's usage alone.
    await page.getByTestId('usage-app').selectOption(apps.vault.id);
    await page.waitForFunction(
      (n) =>
        (globalThis as any).document
          .querySelector('[data-testid="chart-txs"]')
          ?.getAttribute('data-total') === n,
      String(usage.vault.total.txs),
    );
    assert.equal(await cell(total, 'queries'), String(usage.vault.total.queries));
    await page.getByTestId('usage-app').selectOption('');

    // The CSV download: the gateway's rows of both apps, as a file.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('usage-csv').click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    assert.equal(csv[0], 'day,tenant_id,app_id,txs,queries,gas,bytes_written,rejected');
    for (const name of ['shop', 'vault'] as const) {
      const u = usage[name].total;
      assert.ok(
        csv.includes(
          [
            today,
            tenantId,
            apps[name].id,
            u.txs,
            u.queries,
            u.gas,
            u.bytesWritten,
            u.rejected,
          ].join(','),
        ),
        `the CSV holds ${name}'s row: ${csv.join('\n')}`,
      );
    }

    // The bill of this month, as `archi tenant bill` reports it.
    const month = today.slice(0, 7);
    const bill = await cli('tenant', 'bill', '--tenant', 'acme', '--month', month);
    const t = bill.tenants[0];
    assert.deepEqual([t.txs, t.queries], [sum('txs'), sum('queries')]);
    assert.equal(t.txAmount, t.txs * 25, 'txs at 0.25');
    assert.equal(t.queryAmount, t.queries, 'queries at 0.01');
    assert.equal(await page.getByTestId('bill-month').inputValue(), month);
    const billTotal = page.getByTestId('bill-total');
    await billTotal.waitFor();
    assert.equal(
      ((await billTotal.textContent()) ?? '').trim(),
      `${month}: ${money(t.total, bill.minorDigits)} ${bill.currency}`,
    );
    const totalRow = page.getByTestId('bill-tenant-total');
    for (const k of ['txAmount', 'queryAmount', 'storageAmount', 'total']) {
      assert.equal(await cell(totalRow, k), money(t[k], bill.minorDigits), `bill ${k}`);
    }
    for (const name of ['shop', 'vault'] as const) {
      const a = t.apps.find((x: any) => x.appId === apps[name].id);
      const row = page.locator(`[data-testid="bill-table"] tr[data-app="${name}"]`);
      assert.equal(await cell(row, 'txs'), String(a.txs));
      assert.equal(await cell(row, 'total'), money(a.total, bill.minorDigits));
    }
    await browser.shot('gateway-usage-bill-1280');

    // Another month: nothing billed, and the URL keeps the choice.
    const other = await page
      .getByTestId('bill-month')
      .locator('option')
      .nth(1)
      .getAttribute('value');
    await page.getByTestId('bill-month').selectOption(other!);
    await page.getByText(`No usage billed in ${other}`).waitFor();
    assert.match(page.url(), new RegExp(`month=${other}$`));
  });

  it('says so plainly without a gateway, and finds one started later without a reload', async () => {
    // The gateway stops: the pages say it does not answer, the proxy answers 503 NOT_READY.
    process.kill(gatewayPid, 'SIGTERM');
    await waitGone(gatewayPid);
    await page.goto(`${consoleUrl}/#/gateway`);
    const none = page.getByTestId('no-gateway');
    await none.waitFor({ timeout: 30_000 });
    assert.match((await none.textContent()) ?? '', /does not answer/);
    let res = await fetch(`${consoleUrl}/console-api/gateway/tenants`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as any).error.code, 'NOT_READY');

    // network.json records none: "No gateway".
    const path = join(dir, 'network.json');
    const network = JSON.parse(readFileSync(path, 'utf8'));
    delete network.gateway;
    writeFileSync(path, `${JSON.stringify(network, null, 2)}\n`);
    await page.goto(`${consoleUrl}/#/tenants`);
    await page.getByText('No gateway', { exact: true }).waitFor({ timeout: 30_000 });
    res = await fetch(`${consoleUrl}/console-api/gateway/load`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as any).error.message, /no gateway is recorded/);
    await browser.shot('gateway-none-1280');

    // A gateway started now records itself; the open page finds it and shows the portal.
    const gw = await startGatewayProcess(['--dir', dir]);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).gateway.url, gw.url);
    await page
      .getByTestId('apps-table')
      .locator('tr[data-app="vault"]')
      .waitFor({ timeout: 30_000 });

    const r = await archi(['app', 'show', '--app', 'shop', '--dir', dir, '--json']);
    assert.equal(JSON.parse(r.stdout).app.tps, 12, 'the quota kept across the restart');
    for (const text of seen) assert.ok(!text.includes(token), 'the token reached the browser');
    assert.ok(seen.length > 0, 'the page read the gateway through the console server');
    assert.deepEqual(browser.problems, []);
  });
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway pid ${pid} did not stop`);
}

/** `archi ARGS... --dir DIR --json`, parsed; throws with the output when it fails. */
async function cliJson(dir: string, ...args: string[]): Promise<any> {
  const r = await archi([...args, '--dir', dir, '--json'], { timeoutMs: 180_000 });
  if (r.code !== 0) {
    throw new Error(`archi ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  }
  return JSON.parse(r.stdout);
}

/** `archi gateway start --json ARGS` (stopped by stopAll), once it prints its readiness line. */
async function startGatewayProcess(args: string[]): Promise<{ url: string; pid: number }> {
  const proc = startArchi(['gateway', 'start', '--json', ...args]);
  const m = await proc.waitFor(/^(\{"ready":true.*\})$/m, 240_000);
  const ready = JSON.parse(m[1]);
  return { url: ready.url, pid: ready.pid };
}
