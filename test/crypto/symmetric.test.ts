import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { concatBytes, fromHex, toHex, utf8Decode, utf8Encode } from '../../src/crypto/bytes.ts';
import {
  CryptoError,
  generateSymmetricKey,
  getProfile,
  symmetricKeyLength,
} from '../../src/crypto/profile.ts';
import { sm4Ctr, sm4EncryptBlock } from '../../src/crypto/symmetric.ts';
import { loadVector, opensslOk, TempDir } from './openssl-helper.ts';

const isCode = (code: string) => (err: unknown) => err instanceof CryptoError && err.code === code;
const standard = getProfile('standard');
const gm = getProfile('gm');

describe('hashes', () => {
  it('SM3 matches GB/T 32905 examples', () => {
    assert.equal(
      toHex(gm.hash(utf8Encode('abc'))),
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    assert.equal(
      toHex(gm.hash(utf8Encode('abcd'.repeat(16)))),
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('SHA-256 matches FIPS 180 examples', () => {
    assert.equal(
      toHex(standard.hash(utf8Encode('abc'))),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      toHex(standard.hash(new Uint8Array(0))),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('hashParts equals hash of the concatenation and returns 32 plain bytes', () => {
    const parts = [utf8Encode('a'), new Uint8Array(0), utf8Encode('bc'), new Uint8Array(1000)];
    for (const p of [standard, gm]) {
      const h = p.hashParts(parts);
      assert.equal(h.length, 32);
      assert.equal(Object.getPrototypeOf(h), Uint8Array.prototype);
      assert.deepEqual(h, p.hash(concatBytes(...parts)));
      assert.deepEqual(p.hashParts([]), p.hash(new Uint8Array(0)));
    }
    assert.notDeepEqual(standard.hash(utf8Encode('abc')), gm.hash(utf8Encode('abc')));
  });
});

describe('SM4 primitive', () => {
  const key = fromHex('0123456789abcdeffedcba9876543210');

  it('ECB block matches the GB/T 32907 vector', () => {
    assert.equal(toHex(sm4EncryptBlock(key, key)), '681edf34d206965e86b3e94f536e4246');
  });

  it('the CTR mode used by the gm profile is SM4 over the counter blocks', () => {
    // Ties the CTR primitive to the standard ECB vector: keystream block i = SM4(iv + i).
    const iv = fromHex('0123456789abcdeffedcba98765432ff');
    const iv1 = fromHex('0123456789abcdeffedcba9876543300');
    const ks = sm4Ctr(key, iv, new Uint8Array(32));
    assert.deepEqual(ks.subarray(0, 16), sm4EncryptBlock(key, iv));
    assert.deepEqual(ks.subarray(16), sm4EncryptBlock(key, iv1));
    assert.equal(toHex(sm4Ctr(key, key, new Uint8Array(16))), '681edf34d206965e86b3e94f536e4246');
  });
});

describe('authenticated encryption', () => {
  const tmp = new TempDir();
  after(() => tmp.cleanup());

  for (const profile of [standard, gm]) {
    describe(profile.name, () => {
      const key = generateSymmetricKey(profile);

      it('uses the documented key length', () => {
        assert.equal(key.length, profile.name === 'gm' ? 16 : 32);
        assert.equal(symmetricKeyLength(profile), key.length);
      });

      it('round-trips empty, small and large plaintexts with fresh nonces', () => {
        for (const pt of [
          new Uint8Array(0),
          utf8Encode('hello'),
          new Uint8Array(100_000).fill(7),
        ]) {
          const ct = profile.encrypt(key, pt);
          assert.deepEqual(profile.decrypt(key, ct), pt);
          assert.notDeepEqual(profile.encrypt(key, pt), ct);
        }
      });

      it('detects tampering anywhere in nonce, body or tag', () => {
        const pt = utf8Encode('attack at dawn, bring snacks');
        const ct = profile.encrypt(key, pt);
        for (let i = 0; i < ct.length; i++) {
          const bad = ct.slice();
          bad[i] ^= 0x01;
          assert.throws(
            () => profile.decrypt(key, bad),
            isCode('CRYPTO_DECRYPT_FAILED'),
            `byte ${i}`,
          );
        }
        assert.throws(
          () => profile.decrypt(key, ct.subarray(0, ct.length - 1)),
          isCode('CRYPTO_DECRYPT_FAILED'),
        );
        assert.throws(
          () => profile.decrypt(key, concatBytes(ct, Uint8Array.of(0))),
          isCode('CRYPTO_DECRYPT_FAILED'),
        );
        assert.throws(
          () => profile.decrypt(key, new Uint8Array(5)),
          isCode('CRYPTO_DECRYPT_FAILED'),
        );
        const other = generateSymmetricKey(profile);
        assert.throws(() => profile.decrypt(other, ct), isCode('CRYPTO_DECRYPT_FAILED'));
      });

      it('rejects keys of the wrong length', () => {
        const wrong = new Uint8Array(profile.name === 'gm' ? 32 : 16);
        assert.throws(() => profile.encrypt(wrong, utf8Encode('x')), isCode('CRYPTO_BAD_KEY'));
        assert.throws(() => profile.decrypt(wrong, new Uint8Array(64)), isCode('CRYPTO_BAD_KEY'));
      });
    });
  }

  it('frozen ciphertexts still decrypt (wire format is stable)', () => {
    const v = loadVector<{
      plaintextUtf8: string;
      standard: { keyHex: string; ciphertextHex: string };
      gm: { keyHex: string; ciphertextHex: string };
    }>('symmetric-frozen.json');
    for (const p of [standard, gm]) {
      const c = v[p.name];
      assert.equal(
        utf8Decode(p.decrypt(fromHex(c.keyHex), fromHex(c.ciphertextHex))),
        v.plaintextUtf8,
      );
    }
  });

  it('the gm wire format decrypts with the OpenSSL CLI (SM4-CTR + HMAC-SM3)', () => {
    const key = generateSymmetricKey(gm);
    const pt = utf8Encode('cross-checked with openssl enc / openssl mac');
    const ct = gm.encrypt(key, pt);
    const iv = ct.subarray(0, 16);
    const body = ct.subarray(16, ct.length - 32);
    const tag = ct.subarray(ct.length - 32);
    const hmac = (hexKey: string, file: string) =>
      opensslOk(['mac', '-digest', 'SM3', '-macopt', `hexkey:${hexKey}`, '-in', file, 'HMAC'])
        .trim()
        .toLowerCase();
    const encKey = hmac(toHex(key), tmp.write('enc-label', 'archipelago/sm4-ctr/enc')).slice(0, 32);
    const macKey = hmac(toHex(key), tmp.write('mac-label', 'archipelago/sm4-ctr/mac'));
    assert.equal(hmac(macKey, tmp.write('ivbody', concatBytes(iv, body))), toHex(tag));
    tmp.write('body', body);
    opensslOk([
      'enc',
      '-d',
      '-sm4-ctr',
      '-K',
      encKey,
      '-iv',
      toHex(iv),
      '-in',
      tmp.file('body'),
      '-out',
      tmp.file('plain'),
    ]);
    assert.deepEqual(tmp.read('plain'), pt);
  });
});
