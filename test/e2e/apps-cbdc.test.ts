/**
 * The cbdc app on a 4-organization BFT network, through the `archi` CLI: `archi up --apps`
 * deploys it; governance names org1 the central bank, org2 and org3 operators and org4 the
 * regulator; the central bank issues against reserves and allocates; operators open wallets
 * (keys certified by their CAs) and exchange deposits into them; wallets pay with their own
 * keys; class 4 limits refuse with LIMIT_PER_PAYMENT, LIMIT_DAILY and LIMIT_BALANCE; an
 * operator cannot go beyond its allocation nor a wallet overspend; a frozen wallet neither
 * pays nor receives; the regulator resolves a pseudonym on the audit trail and another
 * operator cannot; escrow and conditional payments; M0 conserved.
 *
 * The day boundary: the genesis allows txs 2 days off the block time, and the last test
 * restarts the nodes with `clockOffsetMs` (node.json) set so their clocks, and so the block
 * time, pass the next UTC midnight: the daily limit resets by block time, as it would at
 * midnight, without waiting for it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { archi, type CliResult, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork, type NetNode, waitUntil } from './network.ts';

const DAY_MS = 86_400_000;
let dir: string;
let nodes: NetNode[];
let upOut: string;
before(async () => {
  dir = tempDir('archi-cbdc-');
  nodes = await initNetwork(dir, 4);
  const g = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  g.txTimeWindowMs = 2 * DAY_MS;
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(g, null, 2));
  upOut = (await up(dir, ['--no-console', '--apps'])).proc.out;
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

const cli = (...args: string[]) => archi([...args, '--dir', dir], { timeoutMs: 180_000 });
async function json(...args: string[]): Promise<any> {
  const r = await cli(...args, '--json');
  assert.equal(r.code, 0, `archi ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}
const cbdc = (...args: string[]) => json('cbdc', ...args);

/** Exit 1 with one line `error: CODE: ...` on stderr. */
function failsWith(r: CliResult, code: string): void {
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^error: ${code}: `));
}

function succeeds(r: CliResult): void {
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
}

const key = (name: string) => join(dir, `${name}.wallet.json`);
const pay = (from: string, to: string, amount: string, ...more: string[]) =>
  cli('cbdc', 'pay', '--key', key(from), '--to', to, '--amount', amount, ...more);
const balance = (w: string) => cbdc('balance', w);
const wallets: Record<string, string> = {};

async function open(name: string, as: string, cls: number, ...kyc: string[]): Promise<string> {
  const w = await cbdc(
    'open-wallet',
    '--class',
    String(cls),
    '--out',
    key(name),
    '--as',
    as,
    ...kyc,
  );
  assert.match(w.wallet, /^[0-9a-f]{40}$/);
  wallets[name] = w.wallet;
  return w.wallet;
}

function conserved(r: any): void {
  const fen = (s: string) => Math.round(Number(s) * 100);
  assert.equal(r.conserved, true);
  assert.equal(
    fen(r.issued) - fen(r.redeemed),
    fen(r.central) + fen(r.operators) + fen(r.wallets) + fen(r.escrowed),
  );
}

test('up --apps deploys cbdc; setup by governance; issue against reserves, allocate', async () => {
  assert.match(upOut, /cbdc: contract cbdc deployed \(v1/);
  failsWith(await cli('cbdc', 'issue', '--amount', '1'), 'CBDC_NOT_SET_UP');
  const s = await cbdc(
    'setup',
    '--central',
    'org1',
    '--operators',
    'org2,org3',
    '--regulator',
    'org4',
  );
  assert.equal(s.status, 'executed');
  assert.deepEqual(s.proposal.approvals, ['org1', 'org2', 'org3']);
  failsWith(
    await cli('cbdc', 'setup', '--central', 'org1', '--operators', 'org9', '--regulator', 'org4'),
    'CBDC_UNKNOWN_ORG',
  );
  await cbdc('reserves', '--amount', '1000000', '--as', 'org2/admin');
  await cbdc('reserves', '--amount', '200000', '--as', 'org3/admin');
  failsWith(await cli('cbdc', 'issue', '--amount', '1', '--as', 'org2/admin'), 'CBDC_NOT_CENTRAL');
  failsWith(await cli('cbdc', 'issue', '--amount', '1200000.01'), 'CBDC_OVER_RESERVES');
  assert.equal((await cbdc('issue', '--amount', '1100000')).issued, '1100000.00');
  await cbdc('allocate', '--operator', 'org2', '--amount', '500000');
  const a3 = await cbdc('allocate', '--operator', 'org3', '--amount', '20000');
  assert.equal(a3.vault, '20000.00');
  failsWith(
    await cli('cbdc', 'allocate', '--operator', 'org3', '--amount', '180000.01'),
    'CBDC_OVER_RESERVES',
  );
  const r = await cbdc('report');
  conserved(r);
  assert.equal(r.issued, '1100000.00');
  assert.equal(r.central, '580000.00');
  assert.equal(r.operators, '520000.00');
});

test('class 4: 2,000 per payment, 5,000 a day, 10,000 held', async () => {
  failsWith(
    await cli('cbdc', 'open-wallet', '--class', '4', '--out', key('x'), '--as', 'org2/client'),
    'CBDC_KYC_MISSING',
  );
  failsWith(
    await cli(
      'cbdc',
      'open-wallet',
      '--class',
      '4',
      '--out',
      key('x'),
      '--as',
      'org1/client',
      '--phone',
      '1',
    ),
    'CBDC_NOT_OPERATOR',
  );
  const a = await open('alice', 'org2/client', 4, '--phone', '+86 138 0000 0001');
  const b = await open('bob', 'org3/client', 4, '--phone', '+86 138 0000 0002');
  await cbdc('exchange', '--wallet', a, '--amount', '10000', '--as', 'org2/client');
  failsWith(
    await cli('cbdc', 'exchange', '--wallet', a, '--amount', '0.01', '--as', 'org2/client'),
    'LIMIT_BALANCE',
  );
  failsWith(
    await cli('cbdc', 'exchange', '--wallet', a, '--amount', '1', '--as', 'org3/client'),
    'CBDC_NOT_YOUR_CUSTOMER',
  );

  const paid = JSON.parse(
    (await pay('alice', b, '2000', '--memo', 'rent share', '--as', 'org2/client', '--json')).stdout,
  );
  assert.equal(paid.amount, '2000.00');
  assert.equal(paid.memo, 'rent share');
  failsWith(await pay('alice', b, '2000.01'), 'LIMIT_PER_PAYMENT');
  failsWith(await pay('alice', b, '1', '--as', 'org3/client'), 'CBDC_NOT_YOUR_CUSTOMER');
  succeeds(await pay('alice', b, '2000'));
  succeeds(await pay('alice', b, '1000'));
  failsWith(await pay('alice', b, '0.01'), 'LIMIT_DAILY');
  const wa = await balance(a);
  assert.deepEqual([wa.balance, wa.class, wa.spentToday], ['5000.00', 4, '5000.00']);
  assert.deepEqual(wa.limits, { balance: '10000.00', perPayment: '2000.00', perDay: '5000.00' });
  // Bob holds 5,000: 5,000 more is the limit, a fen more is refused.
  await cbdc('exchange', '--wallet', b, '--amount', '5000', '--as', 'org3/admin');
  failsWith(
    await cli('cbdc', 'exchange', '--wallet', b, '--amount', '0.01', '--as', 'org3/admin'),
    'LIMIT_BALANCE',
  );
  failsWith(await pay('bob', a, '2000.01'), 'LIMIT_PER_PAYMENT');
  // Only the wallet's key pays: a member identity paying is refused.
  failsWith(
    await cli(
      'tx',
      'send',
      '--contract',
      'cbdc',
      '--method',
      'pay',
      '--args',
      JSON.stringify({ to: b, amount: 1 }),
      '--as',
      'org2/client',
      '--wait',
    ),
    'CONTRACT_REVERTED',
  );
});

test('allocation, overspending, freezing by governance', async () => {
  const c = await open(
    'carol',
    'org3/client',
    1,
    '--name',
    'Carol',
    '--id-number',
    '110101199001011234',
    '--phone',
    '3',
    '--bank-account',
    '6222',
    '--in-person',
  );
  const m = await open(
    'shop',
    'org3/client',
    1,
    '--merchant',
    'Tea house',
    '--name',
    'Tea Co',
    '--id-number',
    '91110000',
    '--phone',
    '4',
    '--bank-account',
    '6223',
    '--in-person',
  );
  const left = (await cbdc('report')).perOperator.find((o: any) => o.org === 'org3').vault;
  assert.equal(left, '15000.00');
  failsWith(
    await cli('cbdc', 'exchange', '--wallet', c, '--amount', '15000.01', '--as', 'org3/client'),
    'CBDC_OVER_ALLOCATION',
  );
  await cbdc('exchange', '--wallet', c, '--amount', '15000', '--as', 'org3/client');
  failsWith(
    await cli('cbdc', 'exchange', '--wallet', m, '--amount', '0.01', '--as', 'org3/client'),
    'CBDC_OVER_ALLOCATION',
  );
  failsWith(await pay('carol', m, '15000.01'), 'CBDC_INSUFFICIENT');
  succeeds(await pay('carol', m, '100', '--memo', 'tea'));

  const f = await cbdc('freeze', m, '--reason', 'court order 12');
  assert.equal(f.status, 'executed');
  assert.equal((await balance(m)).frozen, true);
  failsWith(await pay('carol', m, '1'), 'CBDC_FROZEN');
  failsWith(await pay('shop', c, '1'), 'CBDC_FROZEN');
  await cbdc('unfreeze', m);
  succeeds(await pay('shop', c, '1'));
  const shop = await balance(m);
  assert.deepEqual([shop.balance, shop.merchant, shop.frozen], ['99.00', 'Tea house', false]);
});

test('the regulator resolves a pseudonym on the audit trail; another operator cannot', async () => {
  const a = wallets.alice;
  failsWith(await cli('cbdc', 'resolve', a, '--as', 'org3/admin'), 'CBDC_NOT_YOUR_CUSTOMER');
  failsWith(await cli('cbdc', 'resolve', a, '--as', 'org1/admin'), 'CBDC_NOT_REGULATOR');
  const r = await cbdc('resolve', a, '--as', 'org4/client', '--reason', 'AML case 42');
  assert.equal(r.link.wallet, a);
  assert.equal(r.link.operator, 'org2');
  assert.equal(r.link.kyc.phone, '+86 138 0000 0001');
  assert.equal(r.resolution.org, 'org4');
  const own = await cbdc('resolve', a, '--as', 'org2/admin');
  assert.equal(own.link.kyc.phone, '+86 138 0000 0001');
  const trail = await cbdc('resolutions');
  assert.deepEqual(
    trail.entries.map((e: any) => [e.wallet, e.org, e.as, e.reason, e.height > 0]),
    [
      [a, 'org4', 'regulator', 'AML case 42', true],
      [a, 'org2', 'operator', null, true],
    ],
  );
  // The regulator's view: flows with pseudonyms and amounts, aggregates, alerts.
  const flows = await cbdc('flows', '--operator', 'org2');
  assert.ok(
    flows.flows.some((x: any) => x.from === a && x.amount === '2000.00' && x.memo === 'rent share'),
  );
  const agg = await cbdc('aggregates');
  assert.equal(agg.operators.org2.paid, '5000.00');
  await cbdc('set-alert-threshold', '--amount', '100', '--as', 'org4/admin');
  const alerts = await cbdc('alerts');
  assert.equal(alerts.threshold, '100.00');
});

test('escrow releases per delivery and refunds on cancel; an unconfirmed payment returns', async () => {
  const gym = await open(
    'gym',
    'org2/admin',
    1,
    '--merchant',
    'Gym',
    '--name',
    'Gym Co',
    '--id-number',
    '9111',
    '--phone',
    '5',
    '--bank-account',
    '6224',
    '--in-person',
  );
  const carol = wallets.carol;
  const e = JSON.parse(
    (
      await cli(
        'cbdc',
        'escrow',
        'open',
        '--key',
        key('carol'),
        '--merchant',
        gym,
        '--per-delivery',
        '100',
        '--deliveries',
        '10',
        '--memo',
        '10 lessons',
        '--json',
      )
    ).stdout,
  );
  assert.equal(e.total, '1000.00');
  assert.equal((await balance(carol)).balance, '13901.00');
  failsWith(
    await cli('cbdc', 'escrow', 'release', '--key', key('gym'), '--id', e.id),
    'CBDC_FORBIDDEN',
  );
  await cbdc('escrow', 'release', '--key', key('carol'), '--id', e.id);
  await cbdc('escrow', 'release', '--key', key('carol'), '--id', e.id, '--count', '2');
  assert.equal((await balance(gym)).balance, '300.00');
  failsWith(
    await cli('cbdc', 'escrow', 'cancel', '--key', key('carol'), '--id', e.id),
    'CBDC_DEADLINE_NOT_REACHED',
  );
  const c = await cbdc('escrow', 'cancel', '--key', key('gym'), '--id', e.id);
  assert.equal(c.status, 'cancelled');
  assert.equal((await balance(carol)).balance, '14601.00');
  failsWith(
    await cli('cbdc', 'escrow', 'release', '--key', key('carol'), '--id', e.id),
    'CBDC_CLOSED',
  );

  // Confirmed in time: settles. Not confirmed: returns after the deadline.
  const p1 = await cbdc(
    'cond',
    'pay',
    '--key',
    key('carol'),
    '--to',
    gym,
    '--amount',
    '50',
    '--confirmer',
    wallets.shop,
    '--deadline-in',
    '120',
  );
  failsWith(
    await cli('cbdc', 'cond', 'confirm', '--id', p1.id, '--key', key('gym')),
    'CBDC_NOT_CONFIRMER',
  );
  assert.equal(
    (await cbdc('cond', 'confirm', '--id', p1.id, '--key', key('shop'))).status,
    'settled',
  );
  const p2 = await cbdc(
    'cond',
    'pay',
    '--key',
    key('carol'),
    '--to',
    gym,
    '--amount',
    '70',
    '--confirmer',
    wallets.shop,
    '--deadline-in',
    '2',
  );
  assert.equal((await balance(carol)).balance, '14481.00');
  await new Promise((r) => setTimeout(r, 3000));
  failsWith(
    await cli('cbdc', 'cond', 'confirm', '--id', p2.id, '--key', key('shop')),
    'CBDC_DEADLINE_PASSED',
  );
  assert.equal((await cbdc('cond', 'reclaim', '--id', p2.id)).status, 'returned');
  assert.equal((await balance(carol)).balance, '14551.00');
  assert.equal((await balance(gym)).balance, '350.00');
  const r = await cbdc('report');
  conserved(r);
  assert.equal(r.escrowed, '0.00');
});

test('the daily limit resets on the next UTC day by block time; class 2 after upgrade', async () => {
  failsWith(await pay('alice', wallets.bob, '0.01'), 'LIMIT_DAILY');
  const before = await balance(wallets.alice);
  // Restart the nodes with clocks just past the next UTC midnight (of the block time).
  const latest = await json('block', 'get', 'latest');
  const midnight = (Math.floor(latest.header.time / DAY_MS) + 1) * DAY_MS;
  const offset = midnight - Date.now() + 2000;
  await stopAll();
  for (const n of nodes) {
    const cfg = JSON.parse(readFileSync(n.config, 'utf8'));
    writeFileSync(
      n.config,
      JSON.stringify({ ...cfg, clockOffsetMs: Math.max(0, offset) }, null, 2),
    );
  }
  await up(dir, ['--no-console']);
  await waitUntil(
    async () => (await json('block', 'get', 'latest')).header.time >= midnight,
    'a block past midnight',
  );
  const next = await balance(wallets.alice);
  assert.equal(next.spentToday, '0.00');
  assert.notEqual(next.day, before.day);
  succeeds(await pay('alice', wallets.shop, '2000'));
  failsWith(await pay('alice', wallets.shop, '2000.01'), 'LIMIT_PER_PAYMENT');

  // Upgraded to class 2 (more KYC), the same payments pass.
  failsWith(
    await cli('cbdc', 'upgrade', '--wallet', wallets.alice, '--class', '2', '--as', 'org2/admin'),
    'CBDC_KYC_MISSING',
  );
  const up2 = await cbdc(
    'upgrade',
    '--wallet',
    wallets.alice,
    '--class',
    '2',
    '--name',
    'Alice',
    '--id-number',
    '110101199202021234',
    '--bank-account',
    '6225',
    '--as',
    'org2/admin',
  );
  assert.equal(up2.class, 2);
  await cbdc('exchange', '--wallet', wallets.alice, '--amount', '20000', '--as', 'org2/client');
  succeeds(await pay('alice', wallets.shop, '2000.01'));
  succeeds(await pay('alice', wallets.shop, '1000'));
  const w = await balance(wallets.alice);
  assert.deepEqual([w.class, w.spentToday, w.balance], [2, '5000.01', '19999.99']);
  // The regulator's copy of the link grew with the upgrade.
  const r = await cbdc('resolve', wallets.alice, '--as', 'org4/admin');
  assert.equal(r.link.kyc.name, 'Alice');
  assert.equal(r.link.kyc.phone, '+86 138 0000 0001');
  conserved(await cbdc('report'));
});
