/**
 * Unit tests of the gateway pages' pure helpers (console/src/pages/gateway-lib.ts): UTC days
 * and months, usage rows as per-day series, bill amounts as `archi tenant bill` prints them,
 * quota fields as the gateway takes them, and certificate PEM read with x509.ts against a
 * certificate the node's own code issues. They run in Node (scripts/run-tests.mjs finds them
 * under console/src).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate } from '../../src/crypto/x509.ts';
import type { GwUsageRow } from './api.ts';
import {
  bytesText,
  dailySeries,
  dayMs,
  lastDays,
  limitText,
  money,
  parseLimit,
  pemToHex,
  QUOTA_MAX,
  recentMonths,
  sumCounts,
  utcDay,
} from './pages/gateway-lib.ts';
import { parseCert } from './x509.ts';

const row = (day: string, appId: string, txs: number, queries = 0): GwUsageRow => ({
  appId,
  tenantId: 't1',
  day,
  txs,
  queries,
  gas: txs * 100,
  bytesWritten: txs * 10,
  rejected: 0,
});

describe('gateway pages: days and months', () => {
  it('utcDay is the UTC day whatever the local zone', () => {
    assert.equal(utcDay(Date.UTC(2026, 11, 6, 23, 59, 59)), '2026-12-06');
    assert.equal(utcDay(Date.UTC(2026, 11, 7, 0, 0, 0)), '2026-12-07');
    assert.equal(dayMs('2026-12-07'), Date.UTC(2026, 11, 7));
  });

  it('lastDays counts back over month and leap-year ends, oldest first', () => {
    assert.deepEqual(lastDays('2026-03-02', 4), [
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    assert.deepEqual(lastDays('2028-03-01', 2), ['2028-02-29', '2028-03-01']);
    const d = lastDays('2026-12-06', 30);
    assert.equal(d.length, 30);
    assert.equal(d[0], '2026-11-07');
    assert.equal(d[29], '2026-12-06');
    assert.equal(new Set(d).size, 30);
  });

  it('recentMonths runs back across the year, newest first', () => {
    assert.deepEqual(recentMonths('2026-02-15', 4), ['2026-02', '2026-01', '2025-12', '2025-11']);
    assert.equal(recentMonths('2026-12-31', 12).at(-1), '2026-01');
  });
});

describe('gateway pages: usage series', () => {
  const days = lastDays('2026-12-06', 3);
  const rows = [
    row('2026-12-04', 'a', 2, 1),
    row('2026-12-06', 'a', 3),
    row('2026-12-06', 'b', 5, 7),
    // outside the window: left out of the series
    row('2026-11-01', 'a', 100),
  ];

  it('dailySeries puts each day where it belongs, zero elsewhere', () => {
    assert.deepEqual(dailySeries(rows, days, 'txs'), [2, 0, 8]);
    assert.deepEqual(dailySeries(rows, days, 'txs', 'a'), [2, 0, 3]);
    assert.deepEqual(dailySeries(rows, days, 'queries', 'b'), [0, 0, 7]);
    assert.deepEqual(dailySeries(rows, days, 'txs', 'nobody'), [0, 0, 0]);
    assert.deepEqual(dailySeries([], days, 'gas'), [0, 0, 0]);
  });

  it('sumCounts adds every counter', () => {
    assert.deepEqual(sumCounts(rows), {
      txs: 110,
      queries: 8,
      gas: 11000,
      bytesWritten: 1100,
      rejected: 0,
    });
    assert.deepEqual(sumCounts([]), { txs: 0, queries: 0, gas: 0, bytesWritten: 0, rejected: 0 });
  });
});

describe('gateway pages: amounts and quotas', () => {
  it('money writes minor units as archi tenant bill does', () => {
    assert.equal(money(0, 2), '0.00');
    assert.equal(money(5, 2), '0.05');
    assert.equal(money(1234, 2), '12.34');
    assert.equal(money(-7, 2), '-0.07');
    assert.equal(money(42, 0), '42');
    assert.equal(money(1, 3), '0.001');
    assert.equal(money(123456789012, 2), '1234567890.12');
  });

  it('parseLimit takes empty or none as no limit and whole numbers from 1', () => {
    assert.deepEqual(parseLimit('', QUOTA_MAX.tps), { ok: true, value: null });
    assert.deepEqual(parseLimit('  none ', QUOTA_MAX.tps), { ok: true, value: null });
    assert.deepEqual(parseLimit(' 12 ', QUOTA_MAX.tps), { ok: true, value: 12 });
    for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '2147483648']) {
      assert.equal(parseLimit(bad, QUOTA_MAX.tps).ok, false, bad);
    }
    assert.deepEqual(parseLimit('2147483648', QUOTA_MAX.tpd), { ok: true, value: 2147483648 });
    assert.equal(parseLimit('9007199254740992', QUOTA_MAX.tpd).ok, false);
    assert.equal(limitText(null), '');
    assert.equal(limitText(7), '7');
  });

  it('bytesText counts in powers of 1000', () => {
    assert.equal(bytesText(0), '0 B');
    assert.equal(bytesText(999), '999 B');
    assert.equal(bytesText(1012), '1.01 KB');
    assert.equal(bytesText(25_500_000), '25.5 MB');
    assert.equal(bytesText(3e9), '3.00 GB');
  });
});

describe('gateway pages: certificates', () => {
  for (const name of ['standard', 'gm'] as const) {
    it(`pemToHex gives the DER that parseCert reads (${name})`, () => {
      const p = getProfile(name);
      const ca = p.generateKeyPair();
      const app = p.generateKeyPair();
      const notBefore = new Date(Date.UTC(2026, 0, 1));
      const notAfter = new Date(Date.UTC(2027, 0, 1));
      const der = issueCertificate({
        profile: p,
        issuer: p.signerFromPem(ca.privateKeyPem),
        issuerName: { O: 'org1', CN: 'ca.org1' },
        subjectName: { O: 'org1', OU: 'client', CN: 'default.app_1' },
        subjectPublicKey: app.publicKey,
        notBefore,
        notAfter,
        isCA: false,
      });
      const pem = certToPem(der);
      assert.equal(pemToHex(`junk before\n${pem}\njunk after`), Buffer.from(der).toString('hex'));
      const c = parseCert(pemToHex(pem));
      assert.deepEqual(c.subject, { O: 'org1', OU: 'client', CN: 'default.app_1' });
      assert.deepEqual(c.issuer, { O: 'org1', CN: 'ca.org1' });
      assert.equal(c.notBefore.getTime(), notBefore.getTime());
      assert.equal(c.notAfter.getTime(), notAfter.getTime());
    });
  }

  it('pemToHex refuses what is not PEM', () => {
    assert.throws(() => pemToHex('hello'), /not PEM/);
    assert.throws(
      () => pemToHex('-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----'),
      /base64/,
    );
  });
});
