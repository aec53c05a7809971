/**
 * The console's Digital currency and IoT pages in headless chromium, on one network that
 * `archi up --apps` started with every reference app deployed. cbdc setup needs three distinct
 * organizations (central bank, operator, regulator), so the network has three: org1 is the
 * central bank, org2 the operator, org3 the regulator. Through the CLI: the central bank issues
 * and allocates, the operator opens two wallets and exchanges into one, that wallet pays the
 * other twice (one payment above the regulator's threshold), the merchant redeems, the
 * regulator resolves a wallet; two devices are added (one disabled), readings signed with the
 * device key (as `archi iot sign` signs) go through the embedded MQTT broker, are anchored, and
 * one is proven with `archi iot prove`. The pages must show those numbers, verify the proof file in the browser
 * (and refuse tampered ones), fit a phone's width, and log no errors.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Locator, Page } from 'playwright-core';
import { loadDeviceKey } from '../../src/apps/iot/device-key.ts';
import { signReading } from '../../src/apps/iot/reading.ts';
import { type Browser, browserSkip, cell, openBrowser } from './browser.ts';
import { archi, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork, waitUntil } from './network.ts';

describe('console: digital currency and IoT pages', { skip: browserSkip, timeout: 400_000 }, () => {
  let dir: string;
  let consoleUrl: string;
  let rpc: string;
  let browser: Browser;
  let page: Page;
  let alice: string;
  let shop: string;
  let proofFile: string;

  const cli = async (...args: string[]): Promise<any> => {
    const r = await archi([...args, '--dir', dir, '--json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `archi ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : null;
  };
  const query = async (contract: string, method: string, args: unknown) => {
    const res = await fetch(`${rpc}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contract, method, args }),
    });
    return ((await res.json()) as { result: any }).result;
  };

  async function cbdcScenario(): Promise<void> {
    await cli('cbdc', 'setup', '--central', 'org1', '--operators', 'org2', '--regulator', 'org3');
    await cli('cbdc', 'reserves', '--amount', '1000000', '--as', 'org2/admin');
    await cli('cbdc', 'issue', '--amount', '600000');
    await cli('cbdc', 'allocate', '--operator', 'org2', '--amount', '200000');
    await cli('cbdc', 'set-alert-threshold', '--amount', '1000', '--as', 'org3/admin');
    const key = (n: string) => join(dir, `${n}.wallet.json`);
    alice = (
      await cli(
        'cbdc',
        'open-wallet',
        '--class',
        '4',
        '--phone',
        '+86 138 0000 0001',
        '--out',
        key('alice'),
        '--as',
        'org2/client',
      )
    ).wallet;
    shop = (
      await cli(
        'cbdc',
        'open-wallet',
        '--class',
        '1',
        '--merchant',
        'Tea house',
        '--name',
        'Tea Co',
        '--id-number',
        '9111',
        '--phone',
        '5',
        '--bank-account',
        '6222',
        '--in-person',
        '--out',
        key('shop'),
        '--as',
        'org2/client',
      )
    ).wallet;
    await cli('cbdc', 'exchange', '--wallet', alice, '--amount', '5000', '--as', 'org2/client');
    await cli(
      'cbdc',
      'pay',
      '--key',
      key('alice'),
      '--to',
      shop,
      '--amount',
      '2000',
      '--memo',
      'tea',
    );
    await cli(
      'cbdc',
      'pay',
      '--key',
      key('alice'),
      '--to',
      shop,
      '--amount',
      '300',
      '--memo',
      'cake',
    );
    await cli('cbdc', 'redeem', '--key', key('shop'), '--amount', '100');
    await cli('cbdc', 'resolve', alice, '--as', 'org3/admin', '--reason', 'AML case 42');
  }

  async function iotScenario(): Promise<void> {
    const k1 = join(dir, 'meter-1.key');
    const d1 = await cli('iot', 'device', 'add', 'meter-1', '--out', k1);
    const d2 = await cli(
      'iot',
      'device',
      'add',
      'meter-2',
      '--out',
      join(dir, 'meter-2.key'),
      '--as',
      'org2/client',
    );
    assert.equal(d1.curve, 'P-256');
    // Signed here with the device key file, as `archi iot sign` does (one process fewer each).
    const key = loadDeviceKey(k1);
    const readings = [0, 1, 2].map((i) =>
      JSON.stringify(signReading(key.profile, key.signer, d1.id, { data: { t: 20 + i }, seq: i })),
    );
    const { url, topic } = JSON.parse(readFileSync(join(dir, 'iot', 'broker.json'), 'utf8'));
    const client = await mqtt.connectAsync(url);
    for (const r of readings) {
      await client.publishAsync(topic.replace('+', 'line1'), r, { qos: 1 });
    }
    await client.endAsync();
    await waitUntil(
      async () => (await query('iot', 'stats', null))?.readings >= 3,
      'three readings anchored',
    );
    proofFile = join(dir, 'r1.proof.json');
    await cli('iot', 'prove', JSON.parse(readings[1]).id, '--out', proofFile);
    await cli('iot', 'device', 'disable', d2.id, '--as', 'org2/admin');
  }

  before(async () => {
    dir = tempDir('archi-console-apps-');
    await initNetwork(dir, 3);
    const net = await up(dir, ['--apps']);
    assert.ok(net.console, `archi up printed no console URL:\n${net.proc.out}\n${net.proc.err}`);
    consoleUrl = net.console;
    rpc = net.rpc;
    // Independent contracts and random tx nonces: the two scenarios run side by side.
    await Promise.all([cbdcScenario(), iotScenario()]);
    browser = await openBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await stopAll();
    removeDir(dir);
  });

  const text = async (l: Locator) => ((await l.textContent()) ?? '').trim();
  const shows = async (l: Locator, re: RegExp) => {
    await l.waitFor();
    await waitUntil(async () => re.test(await text(l)), `${re} in ${l}`, 30_000).catch(async () =>
      assert.match(await text(l), re),
    );
  };
  const stat = (id: string) => page.getByTestId(id);
  const proofText = async (re: RegExp) =>
    waitUntil(
      async () => re.test(await page.getByTestId('iot-proof-text').inputValue()),
      'the proof text',
      10_000,
    );

  it('central bank: M0 by bucket, issuance per operator, M0 over heights and days', async () => {
    await page.goto(`${consoleUrl}#/cbdc`);
    await shows(
      page.getByTestId('cbdc-roles'),
      /Central bank org1 · operators org2 · regulator org3/,
    );
    await shows(stat('m0-issued'), /^600,000\.00$/);
    assert.equal(await text(stat('m0-outstanding')), '599,900.00');
    assert.equal(await text(stat('m0-central')), '400,000.00');
    assert.equal(await text(stat('m0-operators')), '195,000.00');
    assert.equal(await text(stat('m0-wallets')), '4,900.00');
    assert.match(await text(page.getByTestId('cbdc-m0')), /buckets add up/);
    const org2 = page.getByTestId('cbdc-per-operator').locator('tr[data-org="org2"]');
    assert.equal(await cell(org2, 'reserves'), '1,000,000.00');
    assert.equal(await cell(org2, 'allocated'), '200,000.00');
    assert.equal(await cell(org2, 'vault'), '195,000.00');
    assert.equal(await cell(org2, 'exchanged'), '5,000.00');
    assert.equal(await cell(org2, 'redeemed'), '100.00');
    assert.equal(await cell(org2, 'wallets'), '2');
    // Issue, allocate, exchange and redeem moved money (payments only move it between wallets).
    const chart = page.getByTestId('m0-chart');
    assert.equal(await chart.getAttribute('data-points'), '5');
    assert.equal(await chart.getAttribute('data-outstanding'), '59990000');
    assert.match(await text(page.getByTestId('m0-history-note')), /starts from zero.*✓/);
    assert.equal(await page.getByTestId('m0-issued-daily').getAttribute('data-total'), '600000');
    assert.equal(await page.getByTestId('m0-redeemed-daily').getAttribute('data-total'), '100');
    await browser.shot('cbdc-central');
  });

  it('operator: its figures, today, its flows and the wallets it opened', async () => {
    await page.getByTestId('cbdc-per-operator').getByRole('link', { name: 'org2' }).click();
    const op = page.getByTestId('cbdc-operator');
    await op.waitFor();
    assert.match(page.url(), /#\/cbdc\/operator\/org2$/);
    assert.equal(await text(stat('op-reserves')), '1,000,000.00');
    assert.equal(await text(stat('op-allocated')), '200,000.00');
    assert.equal(await text(stat('op-exchanged')), '5,000.00');
    assert.equal(await text(stat('op-wallets')), '2');
    const flows = page.getByTestId('op-flows').locator('tbody tr');
    assert.deepEqual(
      await flows.evaluateAll((rows: any[]) => rows.map((r) => r.getAttribute('data-kind'))),
      ['exchange', 'payment', 'payment', 'redeem'],
    );
    const wallets = page.getByTestId('operator-wallets');
    await wallets.waitFor();
    assert.equal(await cell(wallets.locator(`tr[data-wallet="${alice}"]`), 'balance'), '2,700.00');
    assert.equal(await cell(wallets.locator(`tr[data-wallet="${shop}"]`), 'balance'), '2,200.00');
    assert.match(await text(wallets), /Tea house/);
  });

  it('wallet: balance, limits used today, the sealed link and who looked', async () => {
    await page.getByTestId('cbdc-tab-wallet').click();
    await page.getByTestId('wallet-input').fill('not-a-wallet');
    await page.getByTestId('wallet-open').click();
    await page
      .getByRole('alert')
      .getByText(/40 hex characters/)
      .waitFor();
    await page.getByTestId('wallet-input').fill(alice.toUpperCase());
    await page.getByTestId('wallet-open').click();
    const w = page.getByTestId('cbdc-wallet');
    await w.waitFor();
    assert.equal(await text(page.getByTestId('wallet-balance')), '2,700.00');
    assert.equal(await text(page.getByTestId('wallet-class')), '4');
    const limits = page.getByTestId('wallet-limits');
    assert.equal(
      await cell(limits.locator('[data-limit="perDay"]'), 'used'),
      '2,300.00 / 5,000.00',
    );
    assert.equal(
      await cell(limits.locator('[data-limit="balance"]'), 'used'),
      '2,700.00 / 10,000.00',
    );
    assert.match(await text(page.getByTestId('wallet-link')), /sealed on chain/);
    const looks = page.getByTestId('wallet-resolutions').locator('tbody tr');
    assert.equal(await looks.count(), 1);
    assert.equal(await cell(looks.first(), 'reason'), 'AML case 42');
    assert.match(await cell(looks.first(), 'by'), /^org3/);
    const activity = page.getByTestId('wallet-activity').locator('tbody tr');
    await activity.first().waitFor();
    assert.deepEqual(
      await activity.evaluateAll((rows: any[]) => rows.map((r) => r.getAttribute('data-kind'))),
      ['paid', 'paid', 'exchange'],
    );
    await browser.shot('cbdc-wallet');
  });

  it('regulator: the day per operator, flows, large-value alerts and the audit trail', async () => {
    await page.getByTestId('cbdc-tab-regulator').click();
    await page.getByTestId('cbdc-regulator').waitFor();
    assert.equal(await text(stat('reg-flows')), '4');
    assert.equal(await text(stat('reg-paid')), '2,300.00');
    assert.equal(await text(stat('reg-exchanged')), '5,000.00');
    assert.equal(await text(stat('reg-alerts')), '1');
    const org2 = page.getByTestId('reg-aggregates').locator('tr[data-org="org2"]');
    assert.equal(await cell(org2, 'payments'), '2');
    assert.equal(await cell(org2, 'redeemed'), '100.00');
    assert.equal(await cell(org2, 'alerts'), '1');
    const alerts = page.getByTestId('reg-alert-list').locator('tbody tr');
    assert.equal(await alerts.count(), 1);
    assert.equal(await cell(alerts.first(), 'amount'), '2,000.00');
    assert.match(await text(alerts.first()), /tea/);
    assert.equal(await page.getByTestId('reg-flows-org2').locator('tbody tr').count(), 4);
    assert.equal(await page.getByTestId('reg-paid-daily').getAttribute('data-total'), '2300');
    const trail = page.getByTestId('reg-resolutions').locator('tbody tr');
    assert.equal(await trail.count(), 1);
    assert.equal(await cell(trail.first(), 'reason'), 'AML case 42');
    // The day before has nothing.
    await page.getByTestId('regulator-prev').click();
    await page.waitForURL(/#\/cbdc\/regulator\/\d{4}-\d{2}-\d{2}$/);
    await shows(stat('reg-flows'), /^0$/);
    await browser.shot('cbdc-regulator');
  });

  it('IoT: devices, anchored batches, and a proof verified (and tampered ones refused) in the browser', async () => {
    await page.goto(`${consoleUrl}#/iot`);
    await shows(stat('iot-stat-devices'), /^2$/);
    assert.equal(await text(stat('iot-stat-readings')), '3');
    const devices = page.getByTestId('iot-devices');
    const m1 = devices.locator('tr[data-device="meter-1"]');
    const m2 = devices.locator('tr[data-device="meter-2"]');
    assert.deepEqual(
      [await cell(m1, 'curve'), await cell(m1, 'owner'), await cell(m1, 'status')],
      ['P-256', 'org1', 'enabled'],
    );
    assert.deepEqual([await cell(m2, 'owner'), await cell(m2, 'status')], ['org2', 'disabled']);
    const counts = await page
      .getByTestId('iot-batches')
      .locator('[data-col="count"]')
      .allTextContents();
    assert.equal(
      counts.reduce((s, c) => s + Number(c), 0),
      3,
    );

    await page.getByTestId('iot-proof-file').setInputFiles(proofFile);
    await proofText(/archipelago-iot-proof\/1/);
    await page.getByTestId('iot-proof-verify').click();
    const verdict = page.getByTestId('iot-proof-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-ok'), 'true', await text(verdict));
    assert.match(await text(verdict), /verified ✓ against block \d+/);
    assert.match(await text(page.getByTestId('iot-proof-device')), /meter-1 of org1 \(P-256/);
    assert.match(
      await text(page.getByTestId('iot-proof-anchored')),
      /batch \d+ in block \d+ by org1/,
    );
    await browser.shot('iot');

    const proof = JSON.parse(readFileSync(proofFile, 'utf8'));
    const tryFile = async (file: unknown, re: RegExp) => {
      await page.getByTestId('iot-proof-text').fill(JSON.stringify(file));
      await page.getByTestId('iot-proof-verify').click();
      await waitUntil(
        async () => (await verdict.getAttribute('data-ok')) === 'false',
        'a refusal',
        10_000,
      );
      assert.match(await text(verdict), re);
    };
    await tryFile(
      { ...proof, reading: { ...proof.reading, data: { t: 0 } } },
      /^IOT_BAD_PROOF.*not signed by device/,
    );
    const badPath = structuredClone(proof);
    badPath.batch.path[0].hash = '00'.repeat(32);
    await page.getByTestId('iot-proof-text').fill(JSON.stringify(proof));
    await page.getByTestId('iot-proof-verify').click();
    await waitUntil(
      async () => (await verdict.getAttribute('data-ok')) === 'true',
      'verified again',
    );
    await tryFile(badPath, /^IOT_BAD_PROOF.*not in batch/);
    const badRecord = structuredClone(proof);
    const read = badRecord.query.proof.reads.find((r: { key: string }) =>
      r.key.includes('/batch/'),
    );
    const rec = JSON.parse(Buffer.from(read.value, 'hex').toString('utf8'));
    read.value = Buffer.from(JSON.stringify({ ...rec, time: rec.time + 1 })).toString('hex');
    writeFileSync(join(dir, 'bad.proof.json'), JSON.stringify(badRecord));
    await page.getByTestId('iot-proof-text').fill('');
    await page.getByTestId('iot-proof-file').setInputFiles(join(dir, 'bad.proof.json'));
    await proofText(/archipelago-iot-proof\/1/);
    await page.getByTestId('iot-proof-verify').click();
    await waitUntil(async () => (await verdict.getAttribute('data-ok')) === 'false', 'a refusal');
    assert.match(await text(verdict), /^PROOF_INVALID.*state root/);
    // A header its validators did not sign.
    const unsigned = structuredClone(proof);
    unsigned.blocks.find(
      (b: { height: number }) => b.height === unsigned.query.proof.height,
    ).commit.signatures = [];
    await page.getByTestId('iot-proof-text').fill(JSON.stringify(proof));
    await page.getByTestId('iot-proof-verify').click();
    await waitUntil(
      async () => (await verdict.getAttribute('data-ok')) === 'true',
      'verified again',
    );
    await tryFile(unsigned, /^PROOF_INVALID.*only 0 of \d+ voting power signed/);
  });

  it('at phone width the pages do not scroll sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, hash, testId] of [
      ['cbdc-central', 'cbdc/central', 'm0-chart'],
      ['cbdc-operator', 'cbdc/operator/org2', 'operator-wallets'],
      ['cbdc-wallet', `cbdc/wallet/${alice}`, 'wallet-activity'],
      ['cbdc-regulator', 'cbdc/regulator', 'reg-resolutions'],
      ['iot', 'iot', 'iot-batches'],
    ] as const) {
      await page.goto(`${consoleUrl}#/${hash}`);
      await page.getByTestId(testId).waitFor();
      const overflow = await page.evaluate(
        () =>
          (globalThis as any).document.documentElement.scrollWidth -
          (globalThis as any).document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 1, `${name} scrolls sideways by ${overflow}px at phone width`);
      await browser.shot(`${name}-390`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('the browser logged no errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});
