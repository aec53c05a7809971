/**
 * The monthly bill: exact prices in minor units, storage in GB-months from cumulative bytes
 * written, per app and per tenant lines that add up, rows outside the month handled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArchiError } from '../../src/errors/index.ts';
import {
  formatAmount,
  monthlyBill,
  parsePrice,
  type PriceTable,
} from '../../src/gateway/billing.ts';
import type { UsageRow } from '../../src/gateway/usage.ts';

const PRICES: PriceTable = {
  currency: 'USD',
  perTx: '0.0002',
  perQuery: '0.00001',
  perGbMonth: '0.10',
};
const GB = 1_000_000_000;

const row = (
  appId: string,
  tenantId: string,
  day: string,
  counts: Partial<UsageRow> = {},
): UsageRow => ({
  appId,
  tenantId,
  day,
  txs: 0,
  queries: 0,
  gas: 0,
  bytesWritten: 0,
  rejected: 0,
  ...counts,
});

test('prices are exact decimals; amounts format in minor units', () => {
  assert.equal(parsePrice('0.0002'), 200_000n);
  assert.equal(parsePrice('12'), 12_000_000_000n);
  assert.equal(parsePrice('0.000000001'), 1n);
  for (const bad of ['', '-1', '1e-7', '0.0000000001', '1,5', 'abc']) {
    assert.throws(
      () => parsePrice(bad),
      (e) => e instanceof ArchiError && e.code === 'BAD_REQUEST',
      bad,
    );
  }
  assert.equal(formatAmount(1234), '12.34');
  assert.equal(formatAmount(5), '0.05');
  assert.equal(formatAmount(0), '0.00');
  assert.equal(formatAmount(7, 0), '7');
  assert.equal(formatAmount(-250), '-2.50');
});

test('txs and queries: no float drift over millions', () => {
  // 0.0002 * 3,333,333 = 666.6666 -> 666.67 (a float sum of 0.0002 would not land there exactly).
  const bill = monthlyBill(
    [row('a', 't', '2026-04-02', { txs: 3_333_333, queries: 150_000, rejected: 99 })],
    PRICES,
    '2026-04',
  );
  const [t] = bill.tenants;
  assert.equal(t.apps[0].txAmount, 66_667);
  assert.equal(t.apps[0].queryAmount, 150);
  assert.equal(t.total, 66_817);
  assert.equal(bill.total, 66_817);
  assert.equal(formatAmount(bill.total, bill.minorDigits), '668.17');
  assert.equal(bill.days, 30);
  assert.equal(bill.currency, 'USD');
});

test('storage: bytes count from the day written to month end, earlier months included, in GB-months', () => {
  const rows = [
    // 1 GB written in March: stored all of April.
    row('a', 't', '2026-03-20', { bytesWritten: GB }),
    // 3 GB written on April 16: 15 of 30 days -> 1.5 GB-months.
    row('a', 't', '2026-04-16', { bytesWritten: 3 * GB }),
    // After the month: not in this bill.
    row('a', 't', '2026-05-01', { bytesWritten: 100 * GB, txs: 1000 }),
  ];
  const [app] = monthlyBill(rows, PRICES, '2026-04').tenants[0].apps;
  assert.equal(app.gbMonths, 2.5);
  assert.equal(app.storageAmount, 25); // 2.5 GB-months at 0.10
  assert.equal(app.txs, 0);
  // 1 GB on day 1 of a 30-day month is one GB-month; on the last day, 1/30.
  assert.equal(
    monthlyBill([row('a', 't', '2026-04-01', { bytesWritten: GB })], PRICES, '2026-04').tenants[0]
      .apps[0].gbMonths,
    1,
  );
  const last = monthlyBill(
    [row('a', 't', '2026-04-30', { bytesWritten: 30 * GB })],
    PRICES,
    '2026-04',
  );
  assert.equal(last.tenants[0].apps[0].gbMonths, 1);
  // February of a leap year has 29 days.
  assert.equal(monthlyBill([], PRICES, '2028-02').days, 29);
});

test('per app and per tenant lines add up; each amount rounded once, half up', () => {
  const prices: PriceTable = { currency: 'EUR', perTx: '0.005', perQuery: '0', perGbMonth: '0' };
  const rows = [
    row('a1', 'tA', '2026-04-01', { txs: 1 }), // 0.005 -> 0.01 (half up)
    row('a1', 'tA', '2026-04-02', { txs: 2 }), // same app: 3 txs = 0.015 -> 0.02
    row('a2', 'tA', '2026-04-03', { txs: 1 }), // 0.01
    row('b1', 'tB', '2026-04-03', { txs: 1000 }), // 5.00
    row('b1', 'tB', '2026-03-31', { txs: 7 }), // before the month: not billed
  ];
  const bill = monthlyBill(rows, prices, '2026-04');
  assert.deepEqual(
    bill.tenants.map((t) => [t.tenantId, t.total, t.apps.map((a) => [a.appId, a.txs, a.total])]),
    [
      [
        'tA',
        3,
        [
          ['a1', 3, 2],
          ['a2', 1, 1],
        ],
      ],
      ['tB', 500, [['b1', 1000, 500]]],
    ],
  );
  assert.equal(bill.total, 503);
  assert.equal(bill.currency, 'EUR');
});

test('bad month or minor digits are refused', () => {
  for (const m of ['2026-13', '2026-4', '26-04', '']) {
    assert.throws(
      () => monthlyBill([], PRICES, m),
      (e) => e instanceof ArchiError && e.code === 'BAD_REQUEST',
      m,
    );
  }
  assert.throws(() => monthlyBill([], { ...PRICES, minorDigits: 12 }, '2026-04'), /minorDigits/);
  assert.deepEqual(monthlyBill([], { ...PRICES, minorDigits: 0 }, '2026-04').total, 0);
});
