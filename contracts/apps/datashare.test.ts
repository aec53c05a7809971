/**
 * datashare.ts in the sandbox on an in-process chain of 3 organizations: publish, grant with
 * keys sealed to real member keys, fetch (live, never granted, revoked, expired, another user
 * of the grantee), re-publish under a new key, enrollment, and bad input changing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encryptDataset, openKey, sealKey } from '../../src/apps/datashare/crypto.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { hex } from '../../src/types/hex.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import type { Member } from '../../test/unit/chain-fixture.ts';
import { type ContractChain, contractChain } from '../../test/vm/harness.ts';

describe('contracts/apps/datashare.ts', () => {
  let c: ContractChain;
  let org1: { admin: Member; client: Member };
  let org2: { admin: Member; client: Member };
  let org3: { admin: Member; client: Member };
  const profile = getProfile('standard');
  // Stand-in member keys: the contract stores sealed keys, it never opens them.
  const grantee = profile.generateKeyPair();
  const publisher = profile.generateKeyPair();
  const data = encryptDataset(profile, new TextEncoder().encode('id,reading\n1,42\n'));
  before(async () => {
    c = await contractChain('standard', { orgs: 3 });
    [org1, org2, org3] = c.fx.orgs;
    const r = await c.deploy('datashare', 'contracts/apps/datashare.ts');
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => c.close());

  const send = (who: Member, method: string, args: unknown) =>
    c.send(who, 'datashare', method, args);
  const query = (method: string, args: unknown) => c.query('datashare', method, args) as any;
  const refused = (r: ReceiptJson, code: string) => {
    assert.equal(r.status, 'error', JSON.stringify(r));
    assert.match(r.message, new RegExp(`^${code}: `));
  };
  const ok = (r: ReceiptJson) => {
    assert.equal(r.status, 'ok', r.message);
    return r.result as any;
  };
  const publishArgs = (name: string, d = data, version = 1) => ({
    name,
    size: 16,
    plainHash: d.plainHash,
    cipherHash: d.cipherHash,
    cipherSize: d.ciphertext.length,
    ownerKey: sealKey(profile, publisher.publicKey, d.key, name, version),
  });
  const sealedFor = (name: string, d = data, version = 1) =>
    sealKey(profile, grantee.publicKey, d.key, name, version);
  const user = (m: Member) => (m === org2.client ? 'client.org2' : 'admin.org2');

  test('publish: recorded once with its hashes, suite and audit entry', async () => {
    const d = ok(
      await send(org1.client, 'publish', {
        ...publishArgs('meters'),
        schema: 'id:int,reading:int',
        terms: 'research only',
      }),
    );
    assert.deepEqual(
      [d.owner, d.publisher, d.version, d.cipher, d.hash, d.audits, d.n],
      ['org1', 'client.org1', 1, 'AES-256-GCM', 'SHA-256', 1, 0],
    );
    refused(await send(org2.client, 'publish', publishArgs('meters')), 'DATA_EXISTS');
    refused(await send(org1.client, 'publish', publishArgs('Bad Name')), 'DATA_INVALID_ARGS');
    refused(
      await send(org1.client, 'publish', { ...publishArgs('x'), plainHash: 'abc' }),
      'DATA_INVALID_ARGS',
    );
    refused(
      await send(org1.client, 'publish', { ...publishArgs('x'), ownerKey: 'not sealed' }),
      'DATA_INVALID_ARGS',
    );
    refused(
      await send(org1.client, 'publish', { ...publishArgs('x'), extra: 1 }),
      'DATA_INVALID_ARGS',
    );
    assert.equal(query('stats', null).datasets, 1);
    assert.equal(query('dataset', { name: 'x' }), null);
  });

  test('grant, fetch, revoke: only a live grant sealed to the sender yields a key', async () => {
    refused(await send(org2.admin, 'fetch', { name: 'meters' }), 'DATA_NOT_GRANTED');
    refused(await send(org2.admin, 'fetch', { name: 'nope' }), 'DATA_UNKNOWN');
    const keys = { 'admin.org2': sealedFor('meters') };
    refused(
      await send(org2.admin, 'grant', { name: 'meters', org: 'org2', keys }),
      'DATA_NOT_OWNER',
    );
    refused(
      await send(org1.admin, 'grant', { name: 'meters', org: 'org9', keys }),
      'DATA_UNKNOWN_ORG',
    );
    refused(
      await send(org1.admin, 'grant', { name: 'meters', org: 'org2', keys: {} }),
      'DATA_INVALID_ARGS',
    );
    refused(
      await send(org1.admin, 'grant', { name: 'meters', org: 'org2', keys, until: 1 }),
      'DATA_INVALID_ARGS',
    );
    assert.deepEqual(query('grants', { name: 'meters' }), []);
    const g = ok(await send(org1.admin, 'grant', { name: 'meters', org: 'org2', keys }));
    assert.deepEqual([g.org, g.users, g.state, g.until], ['org2', ['admin.org2'], 'live', null]);

    const f = ok(await send(org2.admin, 'fetch', { name: 'meters' }));
    assert.deepEqual(openKey(profile, grantee.privateKeyPem, f.sealedKey, 'meters', 1), data.key);
    assert.equal(f.dataset.cipherHash, data.cipherHash);
    // The grant seals the key to admin only; org2's client and org3 get nothing.
    refused(await send(org2.client, 'fetch', { name: 'meters' }), 'DATA_NOT_GRANTED');
    refused(await send(org3.admin, 'fetch', { name: 'meters' }), 'DATA_NOT_GRANTED');
    // The publisher fetches with its own sealed key.
    const own = ok(await send(org1.client, 'fetch', { name: 'meters' }));
    assert.deepEqual(
      openKey(profile, publisher.privateKeyPem, own.sealedKey, 'meters', 1),
      data.key,
    );

    refused(await send(org2.admin, 'revoke', { name: 'meters', org: 'org2' }), 'DATA_NOT_OWNER');
    refused(await send(org1.admin, 'revoke', { name: 'meters', org: 'org3' }), 'DATA_NOT_GRANTED');
    const r = ok(await send(org1.admin, 'revoke', { name: 'meters', org: 'org2' }));
    assert.deepEqual([r.state, r.users], ['revoked', []]);
    refused(await send(org2.admin, 'fetch', { name: 'meters' }), 'DATA_REVOKED');
    refused(await send(org1.admin, 'revoke', { name: 'meters', org: 'org2' }), 'DATA_REVOKED');

    const trail = query('auditTrail', { name: 'meters' });
    assert.deepEqual(
      trail.entries.map((e: any) => [e.action, e.org, e.grantee]),
      [
        ['revoke', 'org1', 'org2'],
        ['fetch', 'org1', null],
        ['fetch', 'org2', null],
        ['grant', 'org1', 'org2'],
        ['publish', 'org1', null],
      ],
    );
    assert.equal(query('stats', null).fetches, 2);
  });

  test('a grant with an end: fetches stop once the block time reaches it', async () => {
    const keys = { [user(org2.client)]: sealedFor('meters') };
    const until = Date.now() + 400;
    ok(await send(org1.admin, 'grant', { name: 'meters', org: 'org2', keys, until }));
    ok(await send(org2.client, 'fetch', { name: 'meters' }));
    while (Date.now() <= until) await new Promise((r) => setTimeout(r, until - Date.now() + 5));
    refused(await send(org2.client, 'fetch', { name: 'meters' }), 'DATA_EXPIRED');
    assert.equal(query('grants', { name: 'meters' })[0].state, 'expired');
    // Granting again renews it.
    ok(await send(org1.admin, 'grant', { name: 'meters', org: 'org2', keys }));
    ok(await send(org2.client, 'fetch', { name: 'meters' }));
  });

  test('republish: a new key; grants carried get it, the others are revoked', async () => {
    ok(
      await send(org1.admin, 'grant', {
        name: 'meters',
        org: 'org3',
        keys: { 'admin.org3': sealedFor('meters') },
      }),
    );
    const next = encryptDataset(profile, new TextEncoder().encode('id,reading\n1,43\n'));
    refused(
      await send(org2.admin, 'republish', { ...publishArgs('meters', next, 2) }),
      'DATA_NOT_OWNER',
    );
    refused(
      await send(org1.admin, 'republish', {
        ...publishArgs('meters', next, 2),
        grants: { org9: { x: sealedFor('meters', next, 2) } },
      }),
      'DATA_NOT_GRANTED',
    );
    const d = ok(
      await send(org1.admin, 'republish', {
        ...publishArgs('meters', next, 2),
        grants: { org2: { 'client.org2': sealedFor('meters', next, 2) } },
      }),
    );
    assert.deepEqual(
      [d.version, d.cipherHash, d.schema],
      [2, next.cipherHash, 'id:int,reading:int'],
    );
    const gs = query('grants', { name: 'meters' });
    assert.deepEqual(
      gs.map((g: any) => [g.org, g.state, g.version]),
      [
        ['org2', 'live', 2],
        ['org3', 'revoked', 1],
      ],
    );
    const f = ok(await send(org2.client, 'fetch', { name: 'meters' }));
    assert.deepEqual(openKey(profile, grantee.privateKeyPem, f.sealedKey, 'meters', 2), next.key);
    // A key sealed for version 1 does not open as version 2's.
    assert.throws(
      () => openKey(profile, grantee.privateKeyPem, f.sealedKey, 'meters', 1),
      /DATA_NOT_GRANTED|does not open/,
    );
    refused(await send(org3.admin, 'fetch', { name: 'meters' }), 'DATA_REVOKED');
    const trail = query('auditTrail', { name: 'meters' }).entries.slice(0, 3);
    assert.deepEqual(
      trail.map((e: any) => [e.action, e.grantee, e.version]),
      [
        ['fetch', null, 2],
        ['revoke', 'org3', 2],
        ['republish', null, 2],
      ],
    );
  });

  test('enroll: the certificate and the signer address recorded per user', async () => {
    const cert = hex(org2.admin.cert);
    const m = ok(await send(org2.admin, 'enroll', { cert }));
    assert.deepEqual([m.org, m.user, m.id], ['org2', 'admin.org2', org2.admin.address]);
    refused(await send(org2.admin, 'enroll', { cert: 'xyz' }), 'DATA_INVALID_ARGS');
    assert.equal(query('members', { org: 'org2' }).length, 1);
    assert.equal(query('member', { org: 'org2', user: 'client.org2' }), null);
  });
});

describe('contracts/apps/datashare.ts on a gm chain', () => {
  let c: ContractChain;
  const profile = getProfile('gm');
  after(() => c?.close());

  test('SM4 and SM3 recorded; an SM2-sealed key opens for the grantee only', async () => {
    c = await contractChain('gm', { orgs: 2 });
    const [org1, org2] = c.fx.orgs;
    assert.equal((await c.deploy('datashare', 'contracts/apps/datashare.ts')).status, 'ok');
    const d = encryptDataset(profile, new TextEncoder().encode('城市,人口\n石家庄,11235086\n'));
    const grantee = profile.generateKeyPair();
    const other = profile.generateKeyPair();
    const send = (who: Member, method: string, args: unknown) =>
      c.send(who, 'datashare', method, args);
    const p = await send(org1.admin, 'publish', {
      name: 'census',
      size: 30,
      plainHash: d.plainHash,
      cipherHash: d.cipherHash,
      cipherSize: d.ciphertext.length,
      ownerKey: sealKey(profile, grantee.publicKey, d.key, 'census', 1),
    });
    assert.equal(p.status, 'ok', p.message);
    assert.deepEqual(
      [(p.result as any).cipher, (p.result as any).hash],
      ['SM4-CTR+HMAC-SM3', 'SM3'],
    );
    const keys = { 'client.org2': sealKey(profile, grantee.publicKey, d.key, 'census', 1) };
    assert.equal(
      (await send(org1.admin, 'grant', { name: 'census', org: 'org2', keys })).status,
      'ok',
    );
    const f = await send(org2.client, 'fetch', { name: 'census' });
    assert.equal(f.status, 'ok', f.message);
    const sealed = (f.result as any).sealedKey;
    assert.deepEqual(openKey(profile, grantee.privateKeyPem, sealed, 'census', 1), d.key);
    assert.throws(() => openKey(profile, other.privateKeyPem, sealed, 'census', 1));
  });
});
