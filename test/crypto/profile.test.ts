import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex, utf8Encode } from '../../src/crypto/bytes.ts';
import { decodeSignature } from '../../src/crypto/der.ts';
import { address, CryptoError, getProfile } from '../../src/crypto/profile.ts';

describe('profiles', () => {
  it('getProfile returns the two profiles with their OIDs', () => {
    const s = getProfile('standard');
    const g = getProfile('gm');
    assert.equal(s.name, 'standard');
    assert.equal(g.name, 'gm');
    assert.equal(s.signatureAlgorithmOid, '1.2.840.10045.4.3.2');
    assert.equal(s.curveOid, '1.2.840.10045.3.1.7');
    assert.equal(g.signatureAlgorithmOid, '1.2.156.10197.1.501');
    assert.equal(g.curveOid, '1.2.156.10197.1.301');
    assert.equal(getProfile('gm'), g);
  });

  it('unknown profile names throw CRYPTO_UNKNOWN_PROFILE', () => {
    for (const name of ['', 'GM', 'sm2', 'standard ']) {
      assert.throws(
        () => getProfile(name),
        (e: unknown) => e instanceof CryptoError && e.code === 'CRYPTO_UNKNOWN_PROFILE',
      );
    }
  });

  for (const name of ['standard', 'gm'] as const) {
    describe(name, () => {
      const p = getProfile(name);

      it('generates distinct 65-byte uncompressed keys that sign and verify', () => {
        const a = p.generateKeyPair();
        const b = p.generateKeyPair();
        assert.equal(a.publicKey.length, 65);
        assert.equal(a.publicKey[0], 4);
        assert.notDeepEqual(a.publicKey, b.publicKey);
        assert.match(a.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
        const msg = utf8Encode('profile message');
        const sig = p.signerFromPem(a.privateKeyPem).sign(msg);
        assert.ok(decodeSignature(sig).r > 0n, 'DER (r,s)');
        assert.ok(p.verify(a.publicKey, msg, sig));
        assert.ok(!p.verify(b.publicKey, msg, sig));
      });

      it('signatures do not cross profiles', () => {
        const other = getProfile(name === 'gm' ? 'standard' : 'gm');
        const kp = p.generateKeyPair();
        const msg = utf8Encode('cross');
        assert.ok(!other.verify(kp.publicKey, msg, p.signerFromPem(kp.privateKeyPem).sign(msg)));
      });

      it('public key PEM round-trips', () => {
        const kp = p.generateKeyPair();
        const pem = p.publicKeyToPem(kp.publicKey);
        assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
        assert.deepEqual(p.publicKeyFromPem(pem), kp.publicKey);
      });

      it('address is the hex of the first 20 bytes of the profile hash', () => {
        const kp = p.generateKeyPair();
        const a = address(p, kp.publicKey);
        assert.match(a, /^[0-9a-f]{40}$/);
        assert.equal(a, toHex(p.hash(kp.publicKey)).slice(0, 40));
      });
    });
  }
});
