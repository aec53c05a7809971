/** iot.ts in the sandbox on an in-process chain of 2 organizations. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { merklePath, merkleRoot, verifyMerklePath } from '../../src/apps/iot/merkle.ts';
import { parseReading, signReading, verifyReading } from '../../src/apps/iot/reading.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { hex } from '../../src/types/hex.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import type { Member } from '../../test/unit/chain-fixture.ts';
import { type ContractChain, contractChain } from '../../test/vm/harness.ts';

describe('contracts/apps/iot.ts', () => {
  let c: ContractChain;
  let org1: { admin: Member; client: Member };
  let org2: { admin: Member; client: Member };
  const profile = getProfile('standard');
  const key = profile.generateKeyPair();
  const pub = hex(key.publicKey);
  const id = pub.slice(2, 42);
  before(async () => {
    c = await contractChain('standard', { orgs: 2 });
    [org1, org2] = c.fx.orgs;
    const r = await c.deploy('iot', 'contracts/apps/iot.ts');
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => c.close());

  const send = (who: Member, method: string, args: unknown) => c.send(who, 'iot', method, args);
  const refused = (r: ReceiptJson, code: string) => {
    assert.equal(r.status, 'error', JSON.stringify(r));
    assert.match(r.message, new RegExp(`^${code}: `));
  };
  const ok = (r: ReceiptJson) => {
    assert.equal(r.status, 'ok', r.message);
    return r.result as any;
  };

  test('devices: registered with their key, disabled and enabled by the owner only', async () => {
    const d = ok(await send(org1.client, 'addDevice', { name: 'meter-1', publicKey: pub }));
    assert.deepEqual([d.id, d.owner, d.curve, d.status], [id, 'org1', 'P-256', 'active']);
    refused(
      await send(org1.client, 'addDevice', { name: 'meter-2', publicKey: pub }),
      'IOT_EXISTS',
    );
    const other = hex(profile.generateKeyPair().publicKey);
    refused(
      await send(org1.client, 'addDevice', { name: 'meter-1', publicKey: other }),
      'IOT_EXISTS',
    );
    refused(await send(org1.client, 'addDevice', { name: 'm', publicKey: 'abcd' }), 'IOT_BAD_KEY');
    refused(
      await send(org1.client, 'addDevice', { name: 'a b', publicKey: other }),
      'IOT_INVALID_ARGS',
    );
    refused(
      await send(org1.client, 'addDevice', { name: 'x', publicKey: other, y: 1 }),
      'IOT_INVALID_ARGS',
    );
    refused(await send(org2.admin, 'disable', { id }), 'IOT_NOT_OWNER');
    refused(await send(org1.admin, 'disable', { id: '00'.repeat(20) }), 'IOT_NOT_FOUND');
    assert.equal(ok(await send(org1.admin, 'disable', { id })).status, 'disabled');
    assert.equal((c.query('iot', 'device', { id }) as any).status, 'disabled');
    assert.equal(ok(await send(org1.client, 'enable', { id })).status, 'active');
    ok(await send(org2.client, 'addDevice', { name: 'meter-1', publicKey: other }));
    const list = c.query('iot', 'devices', { page: 0 }) as any;
    assert.equal(list.total, 2);
    assert.deepEqual(
      list.devices.map((x: any) => x.owner),
      ['org1', 'org2'],
    );
    assert.equal(
      (c.query('iot', 'deviceByName', { org: 'org2', name: 'meter-1' }) as any).id,
      other.slice(2, 42),
    );
  });

  test('batches: anchored with a sequence number, height and time; proof reads both', async () => {
    const readings = [1, 2, 3].map((n) =>
      signReading(profile, profile.signerFromPem(key.privateKeyPem), id, { data: { n }, ts: n }),
    );
    for (const r of readings) assert.ok(verifyReading(profile, r, pub));
    const ids = readings.map((r) => r.id);
    const root = merkleRoot(profile, ids);
    const a = ok(await send(org2.client, 'anchor', { root, count: 3 }));
    assert.deepEqual([a.seq, a.count, a.org, a.root], [0, 3, 'org2', root]);
    assert.ok(a.height > 0 && a.time > 0);
    assert.equal(ok(await send(org1.client, 'anchor', { root, count: 1 })).seq, 1);
    refused(await send(org1.client, 'anchor', { root: 'xyz', count: 1 }), 'IOT_BAD_ROOT');
    refused(await send(org1.client, 'anchor', { root, count: 0 }), 'IOT_INVALID_ARGS');
    const p = c.query('iot', 'proof', { device: id, seq: 0 }) as any;
    assert.equal(p.batch.root, root);
    assert.equal(p.device.id, id);
    for (const [i, rid] of ids.entries()) {
      assert.ok(verifyMerklePath(profile, rid, merklePath(profile, ids, i), root));
    }
    assert.ok(!verifyMerklePath(profile, ids[0], merklePath(profile, ids, 1), root));
    const b = c.query('iot', 'batches', {}) as any;
    assert.deepEqual(
      b.batches.map((x: any) => x.seq),
      [1, 0],
    );
    assert.deepEqual(c.query('iot', 'stats'), { devices: 2, batches: 2, readings: 4 });
  });

  test('readings: tampering, other keys, unsigned and malformed messages are told apart', () => {
    const signer = profile.signerFromPem(key.privateKeyPem);
    const r = signReading(profile, signer, id, { data: { t: 21.5 }, seq: 7 });
    const parsed = parseReading(JSON.stringify(r));
    assert.ok(parsed.ok);
    assert.ok(!verifyReading(profile, { ...r, data: { t: 99 } }, pub));
    assert.ok(!verifyReading(profile, r, hex(profile.generateKeyPair().publicKey)));
    const { sig: _sig, ...unsigned } = r;
    assert.deepEqual(parseReading(JSON.stringify(unsigned)), {
      ok: false,
      reason: 'unsigned',
      detail: 'no sig',
    });
    assert.equal((parseReading('{"device":') as any).reason, 'malformed');
    assert.equal((parseReading('[1]') as any).reason, 'malformed');
    const gm = getProfile('gm');
    const gk = gm.generateKeyPair();
    const g = signReading(gm, gm.signerFromPem(gk.privateKeyPem), hex(gk.publicKey).slice(2, 42), {
      data: 1,
    });
    assert.ok(verifyReading(gm, g, hex(gk.publicKey)));
  });
});
