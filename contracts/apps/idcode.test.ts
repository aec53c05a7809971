/** idcode.ts in the sandbox on an in-process chain of 3 organizations (governance: MAJORITY). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiptJson } from '../../src/types/block.ts';
import type { Member } from '../../test/unit/chain-fixture.ts';
import { type ContractChain, contractChain } from '../../test/vm/harness.ts';

describe('contracts/apps/idcode.ts', () => {
  let c: ContractChain;
  let org1: { admin: Member; client: Member };
  let org2: { admin: Member; client: Member };
  let org3: { admin: Member; client: Member };
  before(async () => {
    c = await contractChain('standard', { orgs: 3 });
    [org1, org2, org3] = c.fx.orgs;
    const r = await c.deploy('idcode', 'contracts/apps/idcode.ts');
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => c.close());

  const send = (who: Member, method: string, args: unknown) => c.send(who, 'idcode', method, args);
  const resolve = (code: string) => c.query('idcode', 'resolve', { code }) as any;
  /** The receipt failed with the stable code at the start of its message. */
  const refused = (r: ReceiptJson, code: string, re?: RegExp) => {
    assert.equal(r.status, 'error', JSON.stringify(r));
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.match(r.message, new RegExp(`^${code}: `));
    if (re) assert.match(r.message, re);
  };
  const ok = (r: ReceiptJson) => {
    assert.equal(r.status, 'ok', r.message);
    return r.result as any;
  };

  test('roots are set only by a governance decision (contract_call)', async () => {
    refused(await send(org1.admin, 'setRoot', { code: 'MA.156', org: 'org1' }), 'IDCODE_FORBIDDEN');
    const propose = (args: unknown) =>
      c.send(org1.admin, 'governance', 'propose', { kind: 'contract_call', args });
    assert.equal((await propose({ contract: 'idcode', method: 'nope' })).code, 'METHOD_NOT_FOUND');
    assert.equal((await propose({ contract: 'kv', method: 'put' })).code, 'INVALID_ARGS');
    assert.equal((await propose({ contract: 'nothere', method: 'x' })).code, 'CONTRACT_NOT_FOUND');
    const p = ok(
      await propose({
        contract: 'idcode',
        method: 'setRoot',
        args: { code: 'MA.156', org: 'org1', name: 'China' },
      }),
    );
    assert.equal(p.status, 'pending');
    assert.equal(resolve('MA.156'), null);
    const done = await c.send(org2.admin, 'governance', 'approve', { id: p.id });
    assert.equal(ok(done).status, 'executed');
    assert.deepEqual(
      done.events.map((e) => `${e.contract}.${e.name}`),
      ['governance.Voted', 'idcode.RootSet', 'governance.Executed'],
    );
    const root = resolve('MA.156');
    assert.equal(root.owner, 'org1');
    assert.equal(root.issuer, 'governance');
    assert.equal(root.name, 'China');
    assert.deepEqual(c.query('idcode', 'roots'), [
      { code: 'MA.156', name: 'China', owner: 'org1', delegate: null, children: 0 },
    ]);
    // A root whose call fails (unknown org) fails the vote that would execute it.
    const bad = ok(
      await propose({ contract: 'idcode', method: 'setRoot', args: { code: 'MA.250', org: 'x' } }),
    );
    const failed = await c.send(org2.admin, 'governance', 'approve', { id: bad.id });
    refused(failed, 'IDCODE_UNKNOWN_ORG');
    assert.equal((c.query('governance', 'get', { id: bad.id }) as any).status, 'pending');
  });

  test('the owner issues a city and its departments', async () => {
    const city = ok(
      await send(org1.client, 'register', {
        code: 'MA.156.1301',
        name: 'Shijiazhuang',
        kind: 'city',
        metadata: { province: 'Hebei' },
      }),
    );
    assert.equal(city.owner, 'org1');
    assert.equal(city.issuer, 'org1');
    assert.deepEqual(city.issuers, ['org1']);
    const r = await send(org1.admin, 'register', {
      code: 'MA.156.1301.01',
      name: 'Urban management bureau',
      kind: 'department',
    });
    ok(r);
    assert.deepEqual(r.events, [
      {
        contract: 'idcode',
        name: 'Issued',
        data: {
          code: 'MA.156.1301.01',
          owner: 'org1',
          issuer: 'org1',
          name: 'Urban management bureau',
          kind: 'department',
        },
      },
    ]);
    ok(
      await send(org1.admin, 'register', {
        code: 'MA.156.1301.02',
        name: 'Traffic management department',
        kind: 'department',
      }),
    );
    const kids = c.query('idcode', 'children', { code: 'MA.156.1301' }) as any;
    assert.equal(kids.total, 2);
    assert.deepEqual(
      kids.children.map((k: any) => k.code),
      ['MA.156.1301.01', 'MA.156.1301.02'],
    );
  });

  test('bad input is refused with its code and changes nothing', async () => {
    const before = JSON.stringify([resolve('MA.156.1301'), resolve('MA.156')]);
    const reg = (who: Member, args: Record<string, unknown>) =>
      send(who, 'register', { name: 'x', kind: 'facility', ...args });
    for (const code of [
      'MA.156.1301.',
      'ma.156.1301.01',
      'MA.15.1301',
      'MA.156.130',
      'MA.156.1301.ab',
      'MA.156.1301.01-2',
      'MA.156.1301.ABCDEFGHIJKLMNOPQ',
      'MA.156.1301.1.2.3.4.5.6.7.8.9',
      'XX.156.1301',
      '',
      42,
    ]) {
      refused(await reg(org1.admin, { code }), 'IDCODE_BAD_FORMAT');
    }
    refused(await reg(org1.admin, { code: 'MA.156.1302.01' }), 'IDCODE_UNKNOWN_PARENT');
    refused(await reg(org1.admin, { code: 'MA.840.0001' }), 'IDCODE_UNKNOWN_PARENT');
    refused(await reg(org2.admin, { code: 'MA.156.1301.03' }), 'IDCODE_NOT_OWNER', /org1/);
    refused(await reg(org1.admin, { code: 'MA.156.1301.01' }), 'IDCODE_EXISTS');
    refused(await reg(org1.admin, { code: 'MA.156' }), 'IDCODE_FORBIDDEN');
    refused(
      await reg(org1.admin, { code: 'MA.156.1301.03', name: 'n'.repeat(129) }),
      'IDCODE_INVALID_ARGS',
    );
    refused(await reg(org1.admin, { code: 'MA.156.1301.03', name: 'a\nb' }), 'IDCODE_INVALID_ARGS');
    refused(
      await reg(org1.admin, { code: 'MA.156.1301.03', kind: 'Big Kind' }),
      'IDCODE_INVALID_ARGS',
    );
    refused(
      await reg(org1.admin, { code: 'MA.156.1301.03', metadata: { x: 'y'.repeat(2100) } }),
      'IDCODE_INVALID_ARGS',
    );
    refused(
      await reg(org1.admin, { code: 'MA.156.1301.03', metadata: [1] }),
      'IDCODE_INVALID_ARGS',
    );
    refused(await reg(org1.admin, { code: 'MA.156.1301.03', color: 'red' }), 'IDCODE_INVALID_ARGS');
    refused(await reg(org1.admin, { code: 'MA.156.1301.03', owner: 'org9' }), 'IDCODE_UNKNOWN_ORG');
    refused(
      await send(org1.admin, 'update', { code: 'MA.156.1301.09', name: 'y' }),
      'IDCODE_NOT_FOUND',
    );
    refused(await send(org1.admin, 'update', { code: 'MA.156.1301.01' }), 'IDCODE_INVALID_ARGS');
    refused(
      await send(org2.admin, 'update', { code: 'MA.156.1301.01', name: 'y' }),
      'IDCODE_NOT_OWNER',
    );
    refused(
      await send(org1.client, 'delegate', { code: 'MA.156.1301.02', to: 'org2' }),
      'IDCODE_FORBIDDEN',
    );
    refused(
      await send(org1.admin, 'delegate', { code: 'MA.156.1301.02', to: 'org9' }),
      'IDCODE_UNKNOWN_ORG',
    );
    refused(
      await send(org1.admin, 'delegate', { code: 'MA.156.1301.02', to: 'org1' }),
      'IDCODE_INVALID_ARGS',
    );
    refused(await send(org1.admin, 'reclaim', { code: 'MA.156.1301.02' }), 'IDCODE_NOT_DELEGATED');
    refused(await send(org1.admin, 'revoke', { code: 'MA.156' }), 'IDCODE_FORBIDDEN');
    assert.throws(() => c.query('idcode', 'resolve', { code: 'MA.1' }), /IDCODE_BAD_FORMAT/);
    assert.throws(() => c.query('idcode', 'children', { code: 'MA.156.1309' }), /IDCODE_NOT_FOUND/);
    assert.equal(JSON.stringify([resolve('MA.156.1301'), resolve('MA.156')]), before);
    assert.equal(resolve('MA.156.1301.03'), null);
  });

  test('delegation lets another organization issue in a subtree until it is taken back', async () => {
    refused(
      await send(org2.admin, 'delegate', { code: 'MA.156.1301.02', to: 'org2' }),
      'IDCODE_NOT_OWNER',
    );
    const d = ok(await send(org1.admin, 'delegate', { code: 'MA.156.1301.02', to: 'org2' }));
    assert.equal(d.delegate, 'org2');
    assert.deepEqual(d.issuers, ['org1', 'org2']);
    const light = ok(
      await send(org2.client, 'register', {
        code: 'MA.156.1301.02.L0001',
        name: 'Traffic light, Zhongshan Rd',
        kind: 'device',
      }),
    );
    // Issued by the delegate, held by the subtree's owner.
    assert.equal(light.owner, 'org1');
    assert.equal(light.issuer, 'org2');
    assert.deepEqual(light.issuers, ['org1', 'org2']);
    ok(
      await send(org2.client, 'register', {
        code: 'MA.156.1301.02.L0001.B',
        name: 'bulb',
        kind: 'part',
      }),
    );
    refused(
      await send(org2.client, 'register', { code: 'MA.156.1301.01.X', name: 'x', kind: 'device' }),
      'IDCODE_NOT_OWNER',
    );
    // A delegate issues for the owner; it cannot hand codes to others.
    refused(
      await send(org2.admin, 'register', {
        code: 'MA.156.1301.02.L0002',
        name: 'x',
        kind: 'device',
        owner: 'org2',
      }),
      'IDCODE_NOT_OWNER',
    );
    const back = ok(await send(org1.admin, 'reclaim', { code: 'MA.156.1301.02' }));
    assert.equal(back.delegate, null);
    refused(
      await send(org2.client, 'register', {
        code: 'MA.156.1301.02.L0002',
        name: 'x',
        kind: 'device',
      }),
      'IDCODE_NOT_OWNER',
    );
    refused(
      await send(org2.client, 'register', {
        code: 'MA.156.1301.02.L0001.C',
        name: 'x',
        kind: 'part',
      }),
      'IDCODE_NOT_OWNER',
    );
    const h = c.query('idcode', 'history', { code: 'MA.156.1301.02' }) as any;
    assert.deepEqual(
      h.entries.map((e: any) => `${e.action}:${e.org}`),
      ['Issued:org1', 'Delegated:org1', 'Reclaimed:org1'],
    );
    assert.equal(h.total, 3);
  });

  test('a code issued to another organization is that organization’s subtree', async () => {
    const park = ok(
      await send(org1.admin, 'register', {
        code: 'MA.156.1301.04',
        name: 'High-tech zone',
        kind: 'district',
        owner: 'org3',
      }),
    );
    assert.equal(park.owner, 'org3');
    ok(
      await send(org3.client, 'register', {
        code: 'MA.156.1301.04.F1',
        name: 'Plant',
        kind: 'facility',
      }),
    );
    refused(
      await send(org1.admin, 'register', {
        code: 'MA.156.1301.04.F2',
        name: 'x',
        kind: 'facility',
      }),
      'IDCODE_NOT_OWNER',
    );
    // The parent's delegation stops where another organization holds the code.
    ok(await send(org1.admin, 'delegate', { code: 'MA.156.1301', to: 'org2' }));
    refused(
      await send(org2.admin, 'register', {
        code: 'MA.156.1301.04.F2',
        name: 'x',
        kind: 'facility',
      }),
      'IDCODE_NOT_OWNER',
    );
    ok(
      await send(org2.admin, 'register', {
        code: 'MA.156.1301.05',
        name: 'Port',
        kind: 'district',
      }),
    );
    ok(await send(org1.admin, 'reclaim', { code: 'MA.156.1301' }));
  });

  test('revoked codes and their subtrees are never issued again nor changed', async () => {
    const r = await send(org1.admin, 'revoke', { code: 'MA.156.1301.02', reason: 'reorganized' });
    ok(r);
    assert.equal(r.events[0].name, 'Revoked');
    refused(await send(org1.admin, 'revoke', { code: 'MA.156.1301.02' }), 'IDCODE_REVOKED');
    refused(
      await send(org1.admin, 'register', {
        code: 'MA.156.1301.02',
        name: 'again',
        kind: 'department',
      }),
      'IDCODE_REVOKED',
      /never reused/,
    );
    refused(
      await send(org1.admin, 'register', {
        code: 'MA.156.1301.02.L0009',
        name: 'x',
        kind: 'device',
      }),
      'IDCODE_REVOKED',
    );
    refused(
      await send(org1.admin, 'update', { code: 'MA.156.1301.02.L0001', name: 'y' }),
      'IDCODE_REVOKED',
    );
    refused(
      await send(org1.admin, 'delegate', { code: 'MA.156.1301.02', to: 'org2' }),
      'IDCODE_REVOKED',
    );
    const below = resolve('MA.156.1301.02.L0001.B');
    assert.equal(below.status, 'revoked');
    assert.equal(below.revokedVia, 'MA.156.1301.02');
    assert.deepEqual(below.issuers, []);
    assert.equal(resolve('MA.156.1301.01').status, 'active');
  });

  test('children come in pages of 100; search lists codes by prefix', async () => {
    ok(
      await send(org1.admin, 'register', { code: 'MA.156.1301.06', name: 'Lamps', kind: 'group' }),
    );
    const calls = Array.from({ length: 150 }, (_, i) => ({
      who: org1.client,
      contract: 'idcode',
      method: 'register',
      args: {
        code: `MA.156.1301.06.${String(i).padStart(4, '0')}`,
        name: `lamp ${i}`,
        kind: 'device',
      },
    }));
    for (const r of await c.sendMany(calls)) ok(r);
    const p0 = c.query('idcode', 'children', { code: 'MA.156.1301.06' }) as any;
    const p1 = c.query('idcode', 'children', { code: 'MA.156.1301.06', page: 1 }) as any;
    assert.equal(p0.total, 150);
    assert.equal(p0.children.length, 100);
    assert.equal(p1.children.length, 50);
    assert.equal(p1.children[49].code, 'MA.156.1301.06.0149');
    const found = c.query('idcode', 'search', { prefix: 'MA.156.1301.06.01', limit: 5 }) as any[];
    assert.deepEqual(
      found.map((f) => f.code),
      [
        'MA.156.1301.06.0100',
        'MA.156.1301.06.0101',
        'MA.156.1301.06.0102',
        'MA.156.1301.06.0103',
        'MA.156.1301.06.0104',
      ],
    );
    assert.throws(() => c.query('idcode', 'search', { prefix: 'x y' }), /IDCODE_INVALID_ARGS/);
  });
});
