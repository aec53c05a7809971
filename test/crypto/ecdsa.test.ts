import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fromHex, toHex, utf8Encode } from '../../src/crypto/bytes.ts';
import { decodeSignature, encodeSignature } from '../../src/crypto/der.ts';
import { address, CryptoError, getProfile } from '../../src/crypto/profile.ts';
import { loadVector, openssl, opensslOk, TempDir } from './openssl-helper.ts';

const standard = getProfile('standard');
const isCode = (code: string) => (err: unknown) => err instanceof CryptoError && err.code === code;
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

describe('ECDSA P-256 interop with the OpenSSL CLI', () => {
  const tmp = new TempDir();
  after(() => tmp.cleanup());
  const message = utf8Encode('ECDSA interop message');
  const msgFile = tmp.write('msg', message);

  it('a signature made here verifies with openssl dgst -sha256 -verify', () => {
    const kp = standard.generateKeyPair();
    const signer = standard.signerFromPem(kp.privateKeyPem);
    assert.deepEqual(signer.publicKey, kp.publicKey);
    const pub = tmp.write('pub.pem', standard.publicKeyToPem(kp.publicKey));
    const sig = tmp.write('sig', signer.sign(message));
    const r = openssl(['dgst', '-sha256', '-verify', pub, '-signature', sig, msgFile]);
    assert.ok(r.ok && r.stdout.includes('Verified OK'), r.stdout + r.stderr);
    const other = tmp.write('msg2', utf8Encode('ECDSA interop message!'));
    assert.ok(!openssl(['dgst', '-sha256', '-verify', pub, '-signature', sig, other]).ok);
  });

  it('a signature made by openssl dgst -sha256 -sign verifies here', () => {
    const key = tmp.file('ossl-key.pem');
    opensslOk([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-out',
      key,
    ]);
    const pub = standard.publicKeyFromPem(opensslOk(['pkey', '-in', key, '-pubout']));
    for (let i = 0; i < 5; i++) {
      opensslOk(['dgst', '-sha256', '-sign', key, '-out', tmp.file('ossl.sig'), msgFile]);
      const sig = tmp.read('ossl.sig');
      assert.ok(standard.verify(pub, message, sig));
      const bad = message.slice();
      bad[3] ^= 0x20;
      assert.ok(!standard.verify(pub, bad, sig));
    }
  });

  it('PEM keys interoperate both ways (PKCS#8, SEC1, compressed SPKI)', () => {
    const kp = standard.generateKeyPair();
    const ours = tmp.write('ours.pem', kp.privateKeyPem);
    assert.match(opensslOk(['pkey', '-in', ours, '-noout', '-text']), /prime256v1/);
    const pubPem = opensslOk(['pkey', '-in', ours, '-pubout']);
    assert.deepEqual(standard.publicKeyFromPem(pubPem), kp.publicKey);
    assert.equal(pubPem.trim(), standard.publicKeyToPem(kp.publicKey).trim());

    const sec1 = tmp.file('sec1.pem');
    opensslOk(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', sec1]);
    const signer = standard.signerFromPem(readFileSync(sec1, 'utf8'));
    assert.deepEqual(
      signer.publicKey,
      standard.publicKeyFromPem(opensslOk(['pkey', '-in', sec1, '-pubout'])),
    );

    const compressed = opensslOk(['ec', '-in', sec1, '-pubout', '-conv_form', 'compressed']);
    assert.deepEqual(standard.publicKeyFromPem(compressed), signer.publicKey);
  });

  it('verifies the frozen OpenSSL-made signature', () => {
    const v = loadVector<{
      privateKeyPem: string;
      publicKeyPem: string;
      publicKeyHex: string;
      messageUtf8: string;
      signatureByOpensslHex: string;
      addressHex: string;
    }>('p256-frozen.json');
    const signer = standard.signerFromPem(v.privateKeyPem);
    assert.equal(toHex(signer.publicKey), v.publicKeyHex);
    assert.equal(toHex(standard.publicKeyFromPem(v.publicKeyPem)), v.publicKeyHex);
    assert.equal(address(standard, signer.publicKey), v.addressHex);
    const pub = fromHex(v.publicKeyHex);
    assert.ok(standard.verify(pub, utf8Encode(v.messageUtf8), fromHex(v.signatureByOpensslHex)));
    assert.ok(
      !standard.verify(
        pub,
        utf8Encode(v.messageUtf8.toUpperCase()),
        fromHex(v.signatureByOpensslHex),
      ),
    );
  });
});

describe('ECDSA P-256 robustness', () => {
  const kp = standard.generateKeyPair();
  const signer = standard.signerFromPem(kp.privateKeyPem);
  const msg = utf8Encode('robustness');
  const sig = signer.sign(msg);
  const { r, s } = decodeSignature(sig);

  it('accepts both s and n-s (OpenSSL semantics) but nothing else derived from it', () => {
    assert.ok(standard.verify(kp.publicKey, msg, sig));
    assert.ok(standard.verify(kp.publicKey, msg, encodeSignature(r, P256_N - s)));
    assert.ok(!standard.verify(kp.publicKey, msg, encodeSignature(r, s + P256_N)));
    assert.ok(!standard.verify(kp.publicKey, msg, encodeSignature(s, r)));
  });

  it('returns false (never throws) on garbage signatures and keys', () => {
    const garbage = [
      new Uint8Array(0),
      Uint8Array.of(0x30, 0x00),
      new Uint8Array(72).fill(0xff),
      encodeSignature(0n, s),
      sig.subarray(0, sig.length - 2),
      Uint8Array.from([...sig, 0]),
      Uint8Array.from([0x30, 0x81, sig[1], ...sig.subarray(2)]),
    ];
    for (let i = 0; i < 200; i++)
      garbage.push(
        new Uint8Array(Math.floor(Math.random() * 80)).map(() => Math.floor(Math.random() * 256)),
      );
    for (const g of garbage) assert.equal(standard.verify(kp.publicKey, msg, g), false, toHex(g));
    const offCurve = kp.publicKey.slice();
    offCurve[64] ^= 1;
    for (const pk of [offCurve, new Uint8Array(65), kp.publicKey.subarray(0, 33), null, 'x']) {
      assert.equal(standard.verify(pk as Uint8Array, msg, sig), false);
    }
    assert.equal(standard.verify(kp.publicKey, null as unknown as Uint8Array, sig), false);
    assert.equal(standard.verify(kp.publicKey, 'robustness' as unknown as Uint8Array, sig), false);
  });

  it('rejects SM2 keys and malformed PEM with CryptoError', () => {
    const gm = getProfile('gm');
    const sm2Key = gm.generateKeyPair();
    assert.throws(() => standard.signerFromPem(sm2Key.privateKeyPem), isCode('CRYPTO_BAD_KEY'));
    assert.throws(() => standard.signerFromPem('garbage'), isCode('CRYPTO_BAD_KEY'));
    assert.throws(
      () => standard.publicKeyFromPem(gm.publicKeyToPem(sm2Key.publicKey)),
      isCode('CRYPTO_BAD_KEY'),
    );
    assert.throws(() => standard.publicKeyToPem(new Uint8Array(65)), isCode('CRYPTO_BAD_KEY'));
    assert.throws(
      () =>
        standard.publicKeyFromPem('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----'),
      isCode('PEM_MALFORMED'),
    );
  });
});
