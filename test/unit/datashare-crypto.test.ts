/**
 * datashare's crypto in both profiles (AES-256-GCM + SHA-256 + P-256, SM4 + SM3 + SM2): a
 * dataset decrypts under its key with both hashes checked, a sealed data key opens only with
 * the grantee's key and only for its dataset and version, and an enrolled certificate is
 * usable only when the org's CA issued it to the signer that enrolled it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decryptDataset,
  encryptDataset,
  openKey,
  sealKey,
} from '../../src/apps/datashare/crypto.ts';
import { enrolledKeyProblem, recipientsOf } from '../../src/apps/datashare/recipients.ts';
import { address, getProfile } from '../../src/crypto/profile.ts';
import type { ArchiClient } from '../../src/sdk/client.ts';
import { certFromPem } from '../../src/crypto/x509.ts';
import { hex } from '../../src/types/hex.ts';
import type { ChainConfigJson } from '../../src/types/rpc-json.ts';
import { makeOrg } from './chain-fixture.ts';

const T0 = 1_700_000_000_000;

for (const name of ['standard', 'gm'] as const) {
  test(`a dataset and its sealed key (${name})`, () => {
    const profile = getProfile(name);
    const text = new TextEncoder().encode('region,households\n1301,412000\n'.repeat(100));
    const e = encryptDataset(profile, text);
    assert.equal(e.key.length, name === 'gm' ? 16 : 32);
    const rec = { name: 'census', plainHash: e.plainHash, cipherHash: e.cipherHash };
    assert.deepEqual(decryptDataset(profile, e.key, e.ciphertext, rec), text);
    assert.equal(e.plainHash, hex(profile.hash(text)));

    const tampered = e.ciphertext.slice();
    tampered[20] ^= 1;
    assert.throws(() => decryptDataset(profile, e.key, tampered, rec), /hashes to/);
    const wrongKey = encryptDataset(profile, text).key;
    assert.throws(
      () => decryptDataset(profile, wrongKey, e.ciphertext, rec),
      (err: any) => err.code === 'DATA_HASH_MISMATCH',
    );
    const other = encryptDataset(profile, new TextEncoder().encode('other'));
    assert.throws(
      () =>
        decryptDataset(profile, other.key, other.ciphertext, {
          ...rec,
          cipherHash: other.cipherHash,
        }),
      /decrypts to content hashing to/,
    );

    const grantee = profile.generateKeyPair();
    const stranger = profile.generateKeyPair();
    const sealed = sealKey(profile, grantee.publicKey, e.key, 'census', 1);
    assert.deepEqual(openKey(profile, grantee.privateKeyPem, sealed, 'census', 1), e.key);
    for (const [pem, ds, v] of [
      [stranger.privateKeyPem, 'census', 1],
      [grantee.privateKeyPem, 'census2', 1],
      [grantee.privateKeyPem, 'census', 2],
    ] as const) {
      assert.throws(
        () => openKey(profile, pem, sealed, ds, v),
        (err: any) => err.code === 'DATA_NOT_GRANTED',
      );
    }
  });

  test(`an enrolled certificate is checked against the org's CA (${name})`, () => {
    const profile = getProfile(name);
    const org2 = makeOrg(profile, 'org2');
    const org3 = makeOrg(profile, 'org3');
    const config = {
      orgs: [org2, org3].map((o) => ({
        id: o.id,
        caCert: hex(certFromPem(o.caCertPem)),
        keys: [],
        tlsCaCert: null,
      })),
      revokedCerts: [],
    } as unknown as ChainConfigJson;
    const m = org2.admin;
    const rec = { org: 'org2', user: 'admin.org2', id: m.address, cert: hex(m.cert), height: 5 };
    assert.equal(enrolledKeyProblem(profile, config, rec, T0), null);
    assert.match(
      enrolledKeyProblem(profile, config, { ...rec, id: org2.client.address }, T0) ?? '',
      /another key/,
    );
    assert.match(
      enrolledKeyProblem(profile, config, { ...rec, user: 'client.org2' }, T0) ?? '',
      /names admin.org2/,
    );
    const foreign = { ...rec, org: 'org3', id: org3.admin.address };
    assert.match(enrolledKeyProblem(profile, config, foreign, T0) ?? '', /not issued by the CA/);
    const revoked = { ...config, revokedCerts: [hex(profile.hash(m.cert))] };
    assert.match(enrolledKeyProblem(profile, revoked, rec, T0) ?? '', /revoked/);
    assert.match(
      enrolledKeyProblem(profile, config, rec, T0 + 4000 * 86_400_000) ?? '',
      /validity/,
    );
    assert.equal(address(profile, org2.admin.signer.publicKey), rec.id);
  });
}

/** A node that answers the chain config and the datashare member queries, as the RPC would. */
function fakeNode(config: unknown, members: Record<string, unknown[]> = {}): ArchiClient {
  return {
    config: async () => config,
    query: async (_c: string, method: string, args: { org: string }) => {
      assert.equal(method, 'members');
      return { result: members[args.org] ?? [] };
    },
  } as unknown as ArchiClient;
}

test('recipients: registered keys on key chains, checked enrolled certificates on cert chains', async () => {
  const profile = getProfile('standard');
  const k = (name: string, role: string) => ({
    name,
    role,
    publicKey: hex(profile.generateKeyPair().publicKey),
  });
  const keyChain = {
    identityMode: 'key',
    orgs: [
      {
        id: 'org2',
        caCert: null,
        keys: [k('admin', 'admin'), k('client', 'client'), k('node2', 'consensus')],
        tlsCaCert: null,
      },
      { id: 'org3', caCert: null, keys: [k('node3', 'consensus')], tlsCaCert: null },
    ],
    revokedCerts: [],
  };
  const all = await recipientsOf(fakeNode(keyChain), profile, 'org2');
  assert.deepEqual(
    all.map((r) => r.user),
    ['admin', 'client'],
  );
  assert.deepEqual(
    (await recipientsOf(fakeNode(keyChain), profile, 'org2', 'client')).map((r) => r.user),
    ['client'],
  );
  const code = (c: string) => (e: any) => e.code === c;
  await assert.rejects(recipientsOf(fakeNode(keyChain), profile, 'org9'), code('DATA_UNKNOWN_ORG'));
  await assert.rejects(recipientsOf(fakeNode(keyChain), profile, 'org3'), code('DATA_NO_KEY'));
  await assert.rejects(
    recipientsOf(fakeNode(keyChain), profile, 'org2', 'node2'),
    code('DATA_NO_KEY'),
  );

  const org2 = makeOrg(profile, 'org2');
  const certChain = {
    identityMode: 'cert',
    orgs: [{ id: 'org2', caCert: hex(certFromPem(org2.caCertPem)), keys: [], tlsCaCert: null }],
    revokedCerts: [],
  };
  const rec = (m: typeof org2.admin, user: string, id = m.address) => ({
    org: 'org2',
    user,
    id,
    cert: hex(m.cert),
    height: 3,
  });
  // The fixture's certificates run from 2023 to 2033: valid now.
  const node = fakeNode(certChain, {
    org2: [rec(org2.admin, 'admin.org2'), rec(org2.client, 'client.org2', org2.admin.address)],
  });
  const found = await recipientsOf(node, profile, 'org2');
  assert.deepEqual(
    found.map((r) => r.user),
    ['admin.org2'],
  );
  assert.deepEqual(found[0].publicKey, org2.admin.signer.publicKey);
  assert.deepEqual(
    (await recipientsOf(node, profile, 'org2', 'admin')).map((r) => r.user),
    ['admin.org2'],
  );
  await assert.rejects(recipientsOf(node, profile, 'org2', 'client'), /another key/);
  await assert.rejects(recipientsOf(fakeNode(certChain), profile, 'org2'), /data enroll/);
});
