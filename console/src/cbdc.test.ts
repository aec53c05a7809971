/** The digital-currency pages' arithmetic: M0 rebuilt from events, per-day sums, limits used. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CbdcTx,
  dailyM0,
  dayFromText,
  dayText,
  limitsUsed,
  m0Delta,
  m0History,
  sumAggs,
  walletActivity,
  walletsOpened,
  yuan,
} from './cbdc.ts';

const DAY = 86_400_000;
const T0 = 20_000 * DAY + 3_600_000;
let n = 0;
const tx = (
  height: number,
  events: Array<[string, unknown]>,
  more: Partial<CbdcTx> = {},
): CbdcTx => ({
  txId: String(n++).padStart(64, '0'),
  height,
  time: T0 + height * 1000,
  method: 'x',
  status: 'ok',
  result: null,
  events: events.map(([name, data]) => ({ contract: 'cbdc', name, data })),
  ...more,
});

describe('m0Delta', () => {
  it('moves money between buckets as each event says', () => {
    assert.deepEqual(m0Delta(tx(1, [['Issued', { amount: 500, issued: 500 }]])), {
      issued: 500,
      redeemed: 0,
      central: 500,
      operators: 0,
      wallets: 0,
      escrowed: 0,
      inTransit: 0,
      abroad: 0,
    });
    const esc = m0Delta(tx(2, [['EscrowOpened', { perDelivery: 30, deliveries: 4 }]]));
    assert.equal(esc.wallets, -120);
    assert.equal(esc.escrowed, 120);
    const settled = m0Delta(
      tx(3, [['ConditionalSettled', { id: 'a' }]], { result: { amount: 70, status: 'settled' } }),
    );
    assert.deepEqual([settled.escrowed, settled.wallets], [-70, 70]);
    // Cross-border: out to in transit, then held abroad or refunded; in from abroad from the vault.
    const abroad = m0Delta(
      tx(4, [
        ['PaidAbroad', { amount: 40 }],
        ['PaidAbroadSettled', { amount: 25 }],
        ['PaidAbroadRefunded', { amount: 15 }],
        ['PaidFromAbroad', { amount: 9, foreignAmount: 3 }],
      ]),
    );
    assert.deepEqual(
      [abroad.wallets, abroad.inTransit, abroad.abroad, abroad.central],
      [-40 + 15 + 9, 0, 25, -9],
    );
  });

  it('ignores failed txs, other contracts and events that move nothing', () => {
    assert.equal(m0Delta(tx(1, [['Issued', { amount: 5 }]], { status: 'error' })).issued, 0);
    const other = tx(1, []);
    other.events.push({ contract: 'token', name: 'Issued', data: { amount: 9 } });
    other.events.push({ contract: 'cbdc', name: 'Paid', data: { amount: 9 } });
    assert.deepEqual(Object.values(m0Delta(other)), [0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('m0History', () => {
  // Newest first, as the scan reads them.
  const txs = [
    tx(9, [['Redeemed', { amount: 50 }]]),
    tx(7, [['Paid', { amount: 10 }]]),
    tx(6, [['Exchanged', { amount: 300 }]]),
    tx(4, [['Allocated', { amount: 600 }]]),
    tx(3, [['Issued', { amount: 1000 }]]),
  ];
  const now = {
    issued: 1000,
    redeemed: 50,
    central: 400,
    operators: 300,
    wallets: 250,
    escrowed: 0,
    inTransit: 0,
    abroad: 0,
    height: 12,
    time: T0 + 12_000,
  };

  it('walks back from the report and starts at zero when the scan reached genesis', () => {
    const h = m0History(now, txs, true);
    assert.equal(h.consistent, true);
    assert.deepEqual(
      h.points.map((p) => [p.height, p.central, p.operators, p.wallets, p.redeemed]),
      [
        [2, 0, 0, 0, 0],
        [3, 1000, 0, 0, 0],
        [4, 400, 600, 0, 0],
        [6, 400, 300, 300, 0],
        [9, 400, 300, 250, 50],
      ],
    );
  });

  it('flags events that do not account for the report, and a partial scan as unknown', () => {
    assert.equal(m0History({ ...now, issued: 1001, central: 401 }, txs, true).consistent, false);
    const partial = m0History(now, txs.slice(0, 2), false);
    assert.equal(partial.consistent, null);
    assert.equal(partial.points[0].issued, 1000);
  });

  it('sums issued and redeemed per UTC day, with outstanding at the end of each', () => {
    const late = [tx(5, [['Redeemed', { amount: 20 }]], { time: T0 + 2 * DAY }), ...txs];
    const h = m0History({ ...now, redeemed: 70, wallets: 230 }, late, true);
    const d = dailyM0(h.points);
    assert.deepEqual(d.days, [dayText(20_000), dayText(20_001), dayText(20_002)]);
    assert.deepEqual(d.issued, [1000, 0, 0]);
    assert.deepEqual(d.redeemed, [50, 0, 20]);
    assert.deepEqual(d.outstanding, [950, 950, 930]);
  });
});

describe('helpers', () => {
  it('reads and writes UTC days', () => {
    assert.equal(dayText(20_000), '2024-10-04');
    assert.equal(dayFromText('2024-10-04'), 20_000);
    assert.equal(dayFromText('2024-02-30'), undefined);
    assert.equal(dayFromText('today'), undefined);
  });

  it('shows how much of its limits a wallet used', () => {
    const [bal, day] = limitsUsed({
      balance: 400_000,
      spentToday: 250_000,
      limits: { balance: 1_000_000, perPayment: 200_000, perDay: 500_000 },
    });
    assert.deepEqual([bal.left, bal.share], [600_000, 0.4]);
    assert.deepEqual([day.left, day.share], [250_000, 0.5]);
    const free = limitsUsed({
      balance: 5,
      spentToday: 0,
      limits: { balance: null, perPayment: null, perDay: null },
    });
    assert.deepEqual([free[0].left, free[0].share], [null, 0]);
  });

  it('totals operators, lists opened wallets and prints yuan', () => {
    const a = { flows: 2, payments: 1, paid: 10, exchanged: 5, redeemed: 0, alerts: 1 };
    assert.deepEqual(sumAggs([a, a]), {
      flows: 4,
      payments: 2,
      paid: 20,
      exchanged: 10,
      redeemed: 0,
      alerts: 2,
    });
    const opened = walletsOpened([
      tx(3, [['WalletOpened', { wallet: 'b', operator: 'org2' }]]),
      tx(2, [['WalletOpened', { wallet: 'a', operator: 'org2' }]]),
      tx(1, [['WalletOpened', { wallet: 'c', operator: 'org3' }]], { status: 'error' }),
    ]);
    assert.deepEqual([...opened], [['org2', ['a', 'b']]]);
    assert.equal(yuan(123_456_789), '1,234,567.89');
    assert.equal(yuan(-5), '-0.05');
  });

  it("lists a wallet's exchanges and payments, signed, newest first", () => {
    const act = walletActivity(
      [
        tx(5, [['Paid', { from: 'b', to: 'a', amount: 7, memo: 'tea' }]]),
        tx(4, [['Paid', { from: 'a', to: 'b', amount: 30, memo: null }]]),
        tx(3, [['Paid', { from: 'b', to: 'c', amount: 1 }]]),
        tx(2, [['Exchanged', { wallet: 'a', operator: 'org2', amount: 100 }]]),
        tx(1, [['PaidAbroad', { from: 'a', client: 'city-b', to: 'z', amount: 5, memo: null }]]),
      ],
      'a',
    );
    assert.deepEqual(
      act.map((x) => [x.kind, x.amount, x.counterparty, x.memo]),
      [
        ['received', 7, 'b', 'tea'],
        ['paid', -30, 'b', null],
        ['exchange', 100, null, null],
        ['paid abroad', -5, 'city-b:z', null],
      ],
    );
  });
});
