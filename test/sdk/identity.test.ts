import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { bytesEqual, hex } from '../../src/types/hex.ts';
import { parseJsonBytes } from '../../src/types/json.ts';
import { decodeTx } from '../../src/types/tx.ts';
import { PROFILES, tempDir, writeUser } from './fixtures.ts';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

function code(e: unknown): string {
  assert.ok(e instanceof ArchiError, `expected ArchiError, got ${e}`);
  return e.code;
}

for (const name of PROFILES) {
  describe(`Identity (${name})`, () => {
    const profile = getProfile(name);
    const u = writeUser(profile, join(root, name), 'org1', 'admin');

    it('loads a cert-mode identity from key and certificate files', () => {
      const id = Identity.fromFiles(name, 'org1', u.keyPath, u.certPath);
      assert.equal(id.mode, 'cert');
      assert.equal(id.org, 'org1');
      assert.equal(id.profile.name, name);
      assert.ok(bytesEqual(id.sender.cert!, u.certDer));
      assert.equal(id.sender.publicKey, undefined);
      assert.ok(bytesEqual(id.publicKey, u.publicKey));
      assert.equal(id.address, address(profile, u.publicKey));
      assert.match(id.address, /^[0-9a-f]{40}$/);
    });

    it('loads from PEM text as well as paths', () => {
      const id = Identity.fromFiles(name, 'org1', u.keyPem, u.certPem);
      assert.equal(id.mode, 'cert');
      assert.ok(bytesEqual(id.sender.cert!, u.certDer));
    });

    it('loads a key-mode identity from public.hex, a hex string, or the key alone', () => {
      for (const extra of [u.pubPath, hex(u.publicKey), undefined]) {
        const id = Identity.fromFiles(name, 'org1', u.keyPath, extra);
        assert.equal(id.mode, 'key');
        assert.ok(bytesEqual(id.sender.publicKey!, u.publicKey));
        assert.equal(id.sender.cert, undefined);
      }
    });

    it('loads from a user directory in either mode', () => {
      assert.equal(Identity.fromUserDir(name, 'org1', u.dir, 'cert').mode, 'cert');
      assert.equal(Identity.fromUserDir(name, 'org1', u.dir, 'key').mode, 'key');
      assert.equal(Identity.fromUserDir(name, 'org1', u.dir).mode, 'cert');
    });

    it('rejects a certificate of another key or another org', () => {
      const other = writeUser(profile, join(root, name), 'org2', 'client', 'client');
      assert.throws(
        () => Identity.fromFiles(name, 'org1', u.keyPath, other.certPath),
        (e) => code(e) === 'CERT_INVALID',
      );
      assert.throws(
        () => Identity.fromFiles(name, 'org2', u.keyPath, u.certPath),
        (e) => code(e) === 'CERT_INVALID',
      );
      assert.throws(
        () => Identity.fromFiles(name, 'org1', u.keyPath, hex(other.publicKey)),
        (e) => code(e) === 'BAD_REQUEST',
      );
    });

    it('gives a clear error for missing files, bad keys and unknown profiles', () => {
      assert.throws(
        () => Identity.fromFiles(name, 'org1', join(root, 'nope.pem')),
        (e) => code(e) === 'BAD_REQUEST' && /nope\.pem/.test((e as Error).message),
      );
      const bad = join(root, `${name}-bad.pem`);
      writeFileSync(bad, 'not a key');
      assert.throws(
        () => Identity.fromFiles(name, 'org1', bad),
        (e) => code(e) === 'BAD_REQUEST',
      );
      assert.throws(
        () => Identity.fromFiles('rot13', 'org1', u.keyPath),
        (e) => code(e) === 'BAD_REQUEST',
      );
      assert.throws(
        () => Identity.fromUserDir(name, 'org1', join(root, 'missing')),
        (e) => code(e) === 'BAD_REQUEST',
      );
    });
  });

  describe(`buildAndSign (${name})`, () => {
    const profile = getProfile(name);
    const u = writeUser(profile, join(root, `${name}-sign`), 'org1', 'admin');

    for (const mode of ['cert', 'key'] as const) {
      it(`produces a tx that decodes and verifies (${mode} mode)`, () => {
        const id = Identity.fromUserDir(name, 'org1', u.dir, mode);
        const args = { key: 'a', value: [1, 2, 3], big: 10n };
        const signed = buildAndSign(id, 'chain-x', {
          contract: 'kv',
          method: 'put',
          args,
          gasLimit: 12345,
        });
        const d = decodeTx(profile, signed.bytes);
        assert.equal(d.txIdHex, signed.txIdHex);
        assert.ok(bytesEqual(d.txId, profile.hash(d.tx.payload)));
        assert.equal(d.payload.chainId, 'chain-x');
        assert.equal(d.payload.contract, 'kv');
        assert.equal(d.payload.method, 'put');
        assert.equal(d.payload.gasLimit, 12345n);
        assert.deepEqual(parseJsonBytes(d.payload.args), { key: 'a', value: [1, 2, 3], big: '10' });
        assert.equal(d.payload.sender?.org, 'org1');
        if (mode === 'cert') assert.ok(bytesEqual(d.payload.sender!.cert, u.certDer));
        else assert.ok(bytesEqual(d.payload.sender!.publicKey, u.publicKey));
        assert.ok(profile.verify(u.publicKey, d.tx.payload, d.tx.signature));
        // The signature covers the payload: any change breaks it.
        const tampered = d.tx.payload.slice();
        tampered[tampered.length - 1] ^= 1;
        assert.equal(profile.verify(u.publicKey, tampered, d.tx.signature), false);
      });
    }

    it('gives each call a distinct tx id', () => {
      const id = Identity.fromUserDir(name, 'org1', u.dir);
      const call = { contract: 'token', method: 'mint', args: { to: id.address, amount: 1 } };
      assert.notEqual(buildAndSign(id, 'c', call).txIdHex, buildAndSign(id, 'c', call).txIdHex);
    });

    it('rejects calls without contract or method, and bad gas limits', () => {
      const id = Identity.fromUserDir(name, 'org1', u.dir);
      assert.throws(
        () => buildAndSign(id, 'c', { contract: '', method: 'm' }),
        (e) => code(e) === 'INVALID_ARGS',
      );
      assert.throws(
        () => buildAndSign(id, 'c', { contract: 'kv', method: '' }),
        (e) => code(e) === 'INVALID_ARGS',
      );
      assert.throws(
        () => buildAndSign(id, 'c', { contract: 'kv', method: 'put', gasLimit: 0 }),
        (e) => code(e) === 'INVALID_ARGS',
      );
      assert.throws(
        () => buildAndSign(id, 'c', { contract: 'kv', method: 'put', gasLimit: 1.5 }),
        (e) => code(e) === 'INVALID_ARGS',
      );
    });
  });
}
