import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base64Decode,
  base64Encode,
  bigIntToBytes,
  bytesToBigInt,
  concatBytes,
  equalBytes,
  fromHex,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../src/crypto/bytes.ts';
import { CryptoError } from '../../src/crypto/profile.ts';

const isCode = (code: string) => (err: unknown) => err instanceof CryptoError && err.code === code;

describe('bytes', () => {
  it('hex round-trips and returns plain Uint8Array', () => {
    const b = fromHex('00ff10Ab');
    assert.deepEqual(b, Uint8Array.of(0, 255, 16, 171));
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
    assert.equal(toHex(b), '00ff10ab');
    assert.deepEqual(fromHex(''), new Uint8Array(0));
  });

  it('fromHex rejects bad hex instead of truncating', () => {
    for (const bad of ['abc', 'zz', '0x00', '00 11', '0g']) {
      assert.throws(() => fromHex(bad), isCode('BAD_HEX'), bad);
    }
  });

  it('concatBytes and equalBytes', () => {
    const c = concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3));
    assert.deepEqual(c, Uint8Array.of(1, 2, 3));
    assert.ok(equalBytes(c, Uint8Array.of(1, 2, 3)));
    assert.ok(!equalBytes(c, Uint8Array.of(1, 2, 4)));
    assert.ok(!equalBytes(c, Uint8Array.of(1, 2)));
  });

  it('utf8 round-trips, keeps a BOM, rejects malformed input', () => {
    const s = '\uFEFF群岛 archipelago ✓';
    assert.equal(utf8Decode(utf8Encode(s)), s);
    assert.throws(() => utf8Decode(Uint8Array.of(0xc3, 0x28)), isCode('BAD_UTF8'));
  });

  it('base64 round-trips and is strict', () => {
    const b = Uint8Array.of(0xfb, 0xff, 0x00, 0x01);
    assert.equal(base64Encode(b), '+/8AAQ==');
    assert.deepEqual(base64Decode('+/8AAQ=='), b);
    assert.deepEqual(base64Decode('+/8A\nAQ=='), b);
    for (const bad of ['+/8AAQ=', '-_8AAQ==', 'abc', '====']) {
      assert.throws(() => base64Decode(bad), isCode('BAD_BASE64'), bad);
    }
  });

  it('bigint conversions are big-endian and fixed width', () => {
    assert.equal(bytesToBigInt(Uint8Array.of(1, 0)), 256n);
    assert.deepEqual(bigIntToBytes(256n, 4), Uint8Array.of(0, 0, 1, 0));
    assert.throws(() => bigIntToBytes(1n << 40n, 4), isCode('BAD_INTEGER'));
  });
});
