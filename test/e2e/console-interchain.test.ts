/**
 * The web console's Interchain page in headless chromium (test/e2e/browser.ts), on two real
 * networks from `archi init` + `archi up`: island-a (standard crypto) and island-b (gm). Used
 * as a person would: the page first says to run `archi ibc connect`; after the CLI connects
 * the chains it lists the client with the latest verified height the CLI reports, without a
 * reload; a transfer sent with `archi ibc transfer` shows as a pending packet and a pending
 * transfer, then, once `archi relay start` carried it, as delivered with its escrow; the
 * receiving network's console shows the received packet, the transfer and the voucher with its
 * short `ibc/<HEX>` form (equal to the chain's and the CLI's) and supply; a transfer to a
 * receiver the other chain refuses is refunded (error ack) on one side and refused on the
 * other. The browser must log no errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { getProfile } from '../../src/crypto/profile.ts';
import { shortOf } from '../../src/vm/native/denom.ts';
import { type Browser, browserSkip, cell, openBrowser } from './browser.ts';
import { archi, archiJson } from './harness.ts';
import {
  connectArgs,
  type IbcNetwork,
  startNetworks,
  startRelay,
  stopNetworks,
  transferArgs,
} from './ibc-networks.ts';
import { waitUntil } from './network.ts';

interface Side extends IbcNetwork {
  console: string;
  /** The address of org1/admin (the CLI's default identity). */
  address: string;
}

/** A started network with its console URL and the address the CLI shows for it. */
async function side(net: IbcNetwork): Promise<Side> {
  assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
  const id = await archi(['id', 'show', '--dir', net.dir, '--address']);
  assert.equal(id.code, 0, id.stderr);
  const address = id.stdout.trim();
  assert.match(address, /^[0-9a-f]{40}$/);
  return { ...net, console: net.console, address };
}

/** Wait until `loc` (one element) holds text matching `re`. */
async function shows(loc: Locator, re: RegExp, timeout = 60_000): Promise<void> {
  await loc.filter({ hasText: re }).first().waitFor({ timeout });
}

const VOUCHER = 'transfer/island-a/island-a';

describe('web console: the Interchain page of two connected networks', {
  skip: browserSkip,
  timeout: 600_000,
}, () => {
  let A: Side;
  let B: Side;
  let browser: Browser;
  let page: Page;
  let sent: any;

  const open = async (s: Side): Promise<void> => {
    await page.goto(`${s.console}/#/interchain`);
    await page.getByTestId('interchain-page').waitFor();
  };
  const table = (id: string) => page.getByTestId(id);

  before(async () => {
    [A, B] = await Promise.all((await startNetworks()).map(side));
    browser = await openBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await stopNetworks();
  });

  it('before any connection it says what to run', async () => {
    await open(A);
    await page.getByTestId('no-clients').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('no-clients').textContent()) ?? '', /archi ibc connect/);
    await page.getByTestId('no-transfers').waitFor({ timeout: 30_000 });
    await page.getByTestId('no-vouchers').waitFor();
    assert.match((await page.getByTestId('own-denom').textContent()) ?? '', /island-a/);
    assert.equal(await page.getByTestId('stat-clients').textContent(), '0');
    await browser.shot('interchain-empty-1280');
  });

  it('after archi ibc connect: the client with its latest verified height, without a reload', async () => {
    const made = await archiJson(connectArgs(A, B));
    assert.equal(made.a.status, 'created', JSON.stringify(made));
    assert.equal(made.b.status, 'created', JSON.stringify(made));
    const [c] = await archiJson(['ibc', 'clients', '--dir', A.dir]);
    assert.equal(c.clientId, 'island-b');

    // No relayer runs yet, so the client stays at the height it was made with.
    const row = table('clients-table').locator('tr[data-client="island-b"]');
    await row.waitFor({ timeout: 60_000 });
    assert.match(await cell(row, 'chain'), /^island-b\s*gm$/);
    assert.equal(await cell(row, 'profile'), 'gm');
    assert.equal(await cell(row, 'counterparty'), 'island-a');
    assert.equal(await cell(row, 'height'), String(c.latestHeight));
    assert.match(await cell(row, 'status'), /^active/);
    // Default trusting period 14 days, of which a few seconds are gone.
    assert.match(await cell(row, 'trust'), /^13d 23h of 14d trust left$/);
    const flow = table('flow-table').locator('tr[data-client="island-b"]');
    await shows(flow.locator('[data-col="sent"]'), /^0$/);
    assert.equal(await cell(flow, 'pending'), '0');
    await page.getByTestId('no-pending').waitFor();
  });

  it('a transfer from archi ibc transfer is pending, then delivered once archi relay start runs', async () => {
    const mint = await archiJson([
      'tx',
      'send',
      '--dir',
      A.dir,
      '--contract',
      'token',
      '--method',
      'mint',
      '--args',
      JSON.stringify({ to: A.address, amount: '1000' }),
      '--wait',
    ]);
    assert.equal(mint.status, 'ok', JSON.stringify(mint));
    sent = await archiJson(transferArgs(A.dir, 'island-b', B.address, '250'));
    assert.equal(sent.status, 'pending');
    assert.equal(sent.sequence, 1);
    assert.equal(sent.denom, 'island-a');
    assert.equal(sent.destDenom, VOUCHER);

    const pending = table('pending-table').locator('tr[data-seq="1"]');
    await pending.waitFor({ timeout: 60_000 });
    assert.equal(await cell(pending, 'ports'), 'token → token');
    // Sent in a block the page looked through: it knows the age.
    assert.match(await cell(pending, 'age'), /^\d+[smhd] ago$/);
    const flow = table('flow-table').locator('tr[data-client="island-b"]');
    assert.equal(await cell(flow, 'sent'), '1');
    assert.equal(await cell(flow, 'pending'), '1');
    const tr = table('transfers-table').locator('tr[data-direction="out"][data-seq="1"]');
    await tr.waitFor({ timeout: 60_000 });
    assert.equal(await cell(tr, 'status'), 'pendingescrowed');
    assert.equal(await cell(tr, 'amount'), '250');
    assert.equal(await cell(tr, 'denom'), 'island-a');
    assert.equal(await cell(tr, 'direction'), 'to island-bpacket 1');
    await browser.shot('interchain-pending-1280');

    startRelay(A, B);
    await waitUntil(
      async () => (await archiJson(['ibc', 'packets', '--dir', A.dir])).acked.length === 1,
      'the transfer acked on island-a',
      90_000,
      500,
    );
    await shows(tr.locator('[data-col="status"]'), /^delivered/);
    await shows(flow.locator('[data-col="acked"]'), /^1$/);
    assert.equal(await cell(flow, 'pending'), '0');
    assert.equal(await cell(flow, 'timed-out'), '0');
    await page.getByTestId('no-pending').waitFor({ timeout: 30_000 });
    const escrow = table('escrow-table').locator(
      'tr[data-client="island-b"][data-denom="island-a"]',
    );
    await shows(escrow.locator('[data-col="escrow"]'), /^250$/);
    assert.match(await cell(escrow, 'there'), new RegExp(`^${VOUCHER}`));
    await browser.shot('interchain-sender-1280');
  });

  it('the receiving console: the packet received, the transfer and the voucher with its ibc/HEX form', async () => {
    await open(B);
    const client = table('clients-table').locator('tr[data-client="island-a"]');
    await client.waitFor({ timeout: 60_000 });
    assert.equal(await cell(client, 'profile'), 'standard');
    // The relayer keeps updating it: the page shows a height at least the one it proved with.
    assert.ok(Number(await cell(client, 'height')) > 0);
    const flow = table('flow-table').locator('tr[data-client="island-a"]');
    await shows(flow.locator('[data-col="received"]'), /^1$/);
    assert.equal(await cell(flow, 'sent'), '0');

    const tr = table('transfers-table').locator('tr[data-direction="in"][data-seq="1"]');
    await tr.waitFor({ timeout: 60_000 });
    assert.match(await cell(tr, 'status'), /^received/);
    assert.equal(await cell(tr, 'amount'), '250');
    assert.match(await cell(tr, 'denom'), new RegExp(`^${VOUCHER}.*sent as island-a$`));
    assert.equal(await cell(tr, 'direction'), 'from island-apacket 1');

    const gmShort = shortOf((d) => getProfile('gm').hash(d), VOUCHER);
    assert.equal(sent.destDenomShort, gmShort, 'the CLI names the same short form');
    const v = table('denoms-table').locator(`tr[data-denom="${VOUCHER}"]`);
    await v.waitFor({ timeout: 60_000 });
    assert.equal(await v.locator('[data-col="short"] .hash').getAttribute('title'), gmShort);
    assert.equal(await cell(v, 'route'), 'island-a, over client island-a (from island-a)');
    const supply = await archiJson([
      'query',
      '--dir',
      B.dir,
      '--contract',
      'token',
      '--method',
      'totalSupply',
      '--args',
      JSON.stringify({ denom: gmShort }),
    ]);
    assert.equal(supply.result, '250');
    assert.equal(await cell(v, 'supply'), '250');
    assert.equal(await page.getByTestId('stat-vouchers').textContent(), '1');
    await browser.shot('interchain-receiver-1280');
  });

  it('a receiver the other chain refuses: refunded on the sender, refused on the receiver', async () => {
    // --wait follows the packet until the relayer settled it: more than archiJson's minute may pass.
    const r = await archi(
      transferArgs(A.dir, 'island-b', 'not-an-address', '5', '--wait', '--json'),
      { timeoutMs: 150_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const bad = JSON.parse(r.stdout);
    assert.equal(bad.status, 'refunded', JSON.stringify(bad));
    assert.equal(bad.sequence, 2);

    // The receiving console is open: the refused packet shows there without a reload.
    const inRow = table('transfers-table').locator('tr[data-direction="in"][data-seq="2"]');
    await inRow.waitFor({ timeout: 60_000 });
    assert.match(await cell(inRow, 'status'), /^refused.*IBC_PACKET_INVALID/);
    const flowB = table('flow-table').locator('tr[data-client="island-a"]');
    await shows(flowB.locator('[data-col="refused"]'), /^1$/);
    assert.equal(await cell(flowB, 'received'), '2');

    await open(A);
    const outRow = table('transfers-table').locator('tr[data-direction="out"][data-seq="2"]');
    await outRow.waitFor({ timeout: 60_000 });
    await shows(outRow.locator('[data-col="status"]'), /^refunded.*IBC_PACKET_INVALID/);
    const flow = table('flow-table').locator('tr[data-client="island-b"]');
    await shows(flow.locator('[data-col="error-acks"]'), /^1$/);
    assert.equal(await cell(flow, 'acked'), '1');
    assert.equal(await cell(flow, 'sent'), '2');
    // Refunded from escrow: what it holds is the delivered transfer's amount again.
    const escrow = table('escrow-table').locator(
      'tr[data-client="island-b"][data-denom="island-a"]',
    );
    await shows(escrow.locator('[data-col="escrow"]'), /^250$/);
    await browser.shot('interchain-refund-1280');
  });

  it('at phone width the page does not scroll sideways (wide tables scroll inside their card)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open(A);
    await table('transfers-table').waitFor({ timeout: 60_000 });
    await table('escrow-table').waitFor({ timeout: 60_000 });
    const overflow = await page.evaluate(() => {
      const d = (globalThis as any).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await browser.shot('interchain-sender-390');
  });

  it('the browser logged no errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});
