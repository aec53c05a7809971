/** The code browser's view of a code, rebuilt from the reads its proof covers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CodeRecord } from '../../src/apps/idcode/rules.ts';
import { isCode, provenView } from './idcode.ts';

const rec = (code: string, parent: string | null, more: Partial<CodeRecord> = {}): CodeRecord => ({
  code,
  parent,
  name: code,
  kind: parent ? 'city' : 'root',
  owner: 'org1',
  delegate: null,
  issuer: 'org1',
  metadata: null,
  status: 'active',
  createdAt: 1,
  updatedAt: 1,
  revokedAt: null,
  children: 0,
  history: 1,
  ...more,
});
const hex = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('hex');
const read = (code: string, value: unknown) => ({
  key: `idcode/code/${code}`,
  value: value === null ? null : hex(value),
  proof: {},
});

describe('provenView', () => {
  const root = rec('MA.156', null, { delegate: 'org2' });
  const city = rec('MA.156.1301', 'MA.156');
  const reads = [read('MA.156.1301', city), read('MA.156', root)];

  it('rebuilds the view from the proven records and accepts a matching answer', () => {
    const expected = { ...city, status: 'active', revokedVia: null, issuers: ['org1', 'org2'] };
    assert.deepEqual(provenView('MA.156.1301', reads, expected), { ok: true, view: expected });
  });

  it('marks a code under a revoked ancestor as revoked', () => {
    const revoked = [read('MA.156.1301', city), read('MA.156', { ...root, status: 'revoked' })];
    const r = provenView('MA.156.1301', revoked, {
      ...city,
      status: 'revoked',
      revokedVia: 'MA.156',
      issuers: [],
    });
    assert.equal(r.ok, true);
  });

  it('takes a proven absence as not issued', () => {
    assert.deepEqual(provenView('MA.156.1309', [read('MA.156.1309', null)], null), {
      ok: true,
      view: null,
    });
  });

  it('refuses an answer the records do not support, or reads the proof lacks', () => {
    const lying = provenView('MA.156.1301', reads, { ...city, owner: 'org3' });
    assert.equal(lying.ok, false);
    assert.match((lying as { reason: string }).reason, /differs/);
    const partial = provenView('MA.156.1301', reads.slice(0, 1), null);
    assert.match((partial as { reason: string }).reason, /does not cover idcode\/code\/MA\.156/);
  });

  it('tells codes from prefixes', () => {
    assert.equal(isCode('MA.156.1301.02'), true);
    assert.equal(isCode(' MA.156 '), true);
    assert.equal(isCode('MA.156.13'), false);
  });
});
