import assert from 'node:assert/strict';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fromHex, toHex, utf8Encode } from '../../src/crypto/bytes.ts';
import { decodeSignature, encodeSignature, encodeTlv } from '../../src/crypto/der.ts';
import { pemDecode } from '../../src/crypto/keys.ts';
import { address, CryptoError, getProfile } from '../../src/crypto/profile.ts';
import { SM2_CURVE, SM2_DEFAULT_ID, Sm2Engine, sm2 } from '../../src/crypto/sm2.ts';
import { loadVector, openssl, opensslOk, TempDir } from './openssl-helper.ts';

const gm = getProfile('gm');
const isCode = (code: string) => (err: unknown) => err instanceof CryptoError && err.code === code;
const DISTID = 'distid:1234567812345678';

interface GbtVector {
  curve: Record<'p' | 'a' | 'b' | 'n' | 'Gx' | 'Gy', string>;
  idUtf8: string;
  messageUtf8: string;
  d: string;
  publicKey: string;
  z: string;
  e: string;
  k: string;
  r: string;
  s: string;
}

interface FrozenVector {
  privateKeyPem: string;
  publicKeyPem: string;
  publicKeyHex: string;
  messageUtf8: string;
  zDefaultIdHex: string;
  zEmptyIdHex: string;
  signatureByOpensslHex: string;
  signatureByArchipelagoHex: string;
  signatureByOpensslEmptyIdHex: string;
  addressHex: string;
}

const big = (hex: string) => BigInt(`0x${hex}`);

describe('SM2 known answers', () => {
  it('reproduces the GB/T 32918.2 Annex A example (Z, e, r, s) on its example curve', () => {
    const v = loadVector<GbtVector>('sm2-gbt32918-example.json');
    const c = v.curve;
    const engine = new Sm2Engine(
      { p: big(c.p), a: big(c.a), b: big(c.b), n: big(c.n), Gx: big(c.Gx), Gy: big(c.Gy) },
      4,
    );
    const d = big(v.d);
    const pub = engine.publicKeyFromPrivate(d);
    assert.equal(toHex(pub), v.publicKey);
    const z = engine.computeZ(pub, utf8Encode(v.idUtf8));
    assert.equal(toHex(z), v.z);
    const e = engine.digest(z, utf8Encode(v.messageUtf8));
    assert.equal(e, big(v.e));
    const { r, s } = engine.signDigest(d, e, big(v.k));
    assert.equal(r, big(v.r));
    assert.equal(s, big(v.s));
    const msg = utf8Encode(v.messageUtf8);
    const sig = encodeSignature(r, s);
    assert.ok(engine.verify(pub, msg, sig, utf8Encode(v.idUtf8)));
    assert.ok(!engine.verify(pub, msg, sig), 'the default ID must give a different Z');
    assert.ok(!engine.verify(pub, utf8Encode('message digesT'), sig, utf8Encode(v.idUtf8)));
  });

  it('accepts the OpenSSL evppkey_sm2.txt verify vectors and rejects altered digests', () => {
    const v = loadVector<{ privateKeyPem: string; cases: { digest: string; signature: string }[] }>(
      'sm2-openssl-evp.json',
    );
    const signer = gm.signerFromPem(v.privateKeyPem);
    const point = sm2.decodePublicKey(signer.publicKey);
    for (const c of v.cases) {
      const { r, s } = decodeSignature(fromHex(c.signature));
      const e = big(c.digest);
      assert.ok(sm2.verifyDigest(point, e, r, s));
      assert.ok(!sm2.verifyDigest(point, e ^ 1n, r, s));
      assert.ok(!sm2.verifyDigest(point, e, s, r));
    }
  });

  it('verifies the frozen OpenSSL-made and Archipelago-made signatures', () => {
    const v = loadVector<FrozenVector>('sm2-frozen.json');
    const signer = gm.signerFromPem(v.privateKeyPem);
    assert.equal(toHex(signer.publicKey), v.publicKeyHex);
    assert.equal(toHex(gm.publicKeyFromPem(v.publicKeyPem)), v.publicKeyHex);
    assert.equal(address(gm, signer.publicKey), v.addressHex);
    assert.equal(toHex(sm2.computeZ(signer.publicKey)), v.zDefaultIdHex);
    assert.equal(toHex(sm2.computeZ(signer.publicKey, new Uint8Array(0))), v.zEmptyIdHex);
    const msg = utf8Encode(v.messageUtf8);
    const pub = fromHex(v.publicKeyHex);
    assert.ok(gm.verify(pub, msg, fromHex(v.signatureByOpensslHex)));
    assert.ok(gm.verify(pub, msg, fromHex(v.signatureByArchipelagoHex)));
    // OpenSSL 3.0 without -pkeyopt distid signs with an empty ID: not our default.
    const emptyIdSig = fromHex(v.signatureByOpensslEmptyIdHex);
    assert.ok(!gm.verify(pub, msg, emptyIdSig));
    assert.ok(sm2.verify(pub, msg, emptyIdSig, new Uint8Array(0)));
    assert.ok(!gm.verify(pub, utf8Encode(`${v.messageUtf8}.`), fromHex(v.signatureByOpensslHex)));
  });
});

describe('SM2 interop with the OpenSSL CLI', () => {
  const tmp = new TempDir();
  after(() => tmp.cleanup());
  const message = utf8Encode('SM2 interop message \u7fa4\u5c9b');
  const msgFile = tmp.write('msg', message);

  it('a signature made here verifies with openssl pkeyutl and the default distid', () => {
    const kp = gm.generateKeyPair();
    const signer = gm.signerFromPem(kp.privateKeyPem);
    const pub = tmp.write('pub.pem', gm.publicKeyToPem(kp.publicKey));
    for (let i = 0; i < 3; i++) {
      const sig = tmp.write(`sig${i}`, signer.sign(message));
      const base = [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pub,
        '-rawin',
        '-in',
        msgFile,
        '-sigfile',
        sig,
        '-digest',
        'sm3',
      ];
      const r = openssl([...base, '-pkeyopt', DISTID]);
      assert.ok(r.ok && r.stdout.includes('Signature Verified Successfully'), r.stdout + r.stderr);
      // Proves Z really carries the default ID: the empty-ID default of OpenSSL 3.0 rejects it.
      assert.ok(!openssl(base).ok);
      const tampered = tmp.write('msg-tampered', utf8Encode('SM2 interop message?'));
      const t = openssl([
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pub,
        '-rawin',
        '-in',
        tampered,
        '-sigfile',
        sig,
        '-digest',
        'sm3',
        '-pkeyopt',
        DISTID,
      ]);
      assert.ok(!t.ok);
    }
  });

  it('a signature made by openssl pkeyutl verifies here; tampering is rejected', () => {
    const key = tmp.file('ossl-key.pem');
    opensslOk(['genpkey', '-algorithm', 'SM2', '-out', key]);
    const pubPem = opensslOk(['pkey', '-in', key, '-pubout']);
    const pub = gm.publicKeyFromPem(pubPem);
    for (let i = 0; i < 3; i++) {
      const sigFile = tmp.file(`ossl-sig${i}`);
      opensslOk([
        'pkeyutl',
        '-sign',
        '-inkey',
        key,
        '-rawin',
        '-in',
        msgFile,
        '-digest',
        'sm3',
        '-pkeyopt',
        DISTID,
        '-out',
        sigFile,
      ]);
      const sig = tmp.read(`ossl-sig${i}`);
      assert.ok(gm.verify(pub, message, sig));
      const badMsg = message.slice();
      badMsg[0] ^= 1;
      assert.ok(!gm.verify(pub, badMsg, sig));
      const badSig = sig.slice();
      badSig[badSig.length - 1] ^= 1;
      assert.ok(!gm.verify(pub, message, badSig));
    }
  });

  it('keys generated here load in openssl, sign there and verify here', () => {
    const kp = gm.generateKeyPair();
    const key = tmp.write('our-key.pem', kp.privateKeyPem);
    const text = opensslOk(['pkey', '-in', key, '-noout', '-text']);
    assert.match(text, /ASN1 OID: SM2/);
    const pubPem = opensslOk(['pkey', '-in', key, '-pubout']);
    assert.deepEqual(gm.publicKeyFromPem(pubPem), kp.publicKey);
    assert.equal(pubPem.trim(), gm.publicKeyToPem(kp.publicKey).trim());
    opensslOk([
      'pkeyutl',
      '-sign',
      '-inkey',
      key,
      '-rawin',
      '-in',
      msgFile,
      '-digest',
      'sm3',
      '-pkeyopt',
      DISTID,
      '-out',
      tmp.file('our-key.sig'),
    ]);
    assert.ok(gm.verify(kp.publicKey, message, tmp.read('our-key.sig')));
  });

  it('keys generated by openssl (PKCS#8 and SEC1) load via signerFromPem', () => {
    const pkcs8 = tmp.file('gen-pkcs8.pem');
    opensslOk(['genpkey', '-algorithm', 'SM2', '-out', pkcs8]);
    const sec1 = tmp.file('gen-sec1.pem');
    opensslOk(['ecparam', '-name', 'SM2', '-genkey', '-out', sec1]);
    for (const file of [pkcs8, sec1]) {
      const pem = opensslOk(['pkey', '-in', file, '-pubout']);
      const signer = gm.signerFromPem(readFileSync(file, 'utf8'));
      assert.deepEqual(signer.publicKey, gm.publicKeyFromPem(pem));
      const sig = tmp.write('sec1.sig', signer.sign(message));
      const pub = tmp.write('sec1.pub', pem);
      const r = openssl([
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pub,
        '-rawin',
        '-in',
        msgFile,
        '-sigfile',
        sig,
        '-digest',
        'sm3',
        '-pkeyopt',
        DISTID,
      ]);
      assert.ok(r.ok, r.stderr);
    }
  });

  it('compressed SM2 public keys from openssl are normalised to 65 bytes', () => {
    const key = tmp.file('cmp-key.pem');
    opensslOk(['genpkey', '-algorithm', 'SM2', '-out', key]);
    const compressed = opensslOk(['ec', '-in', key, '-pubout', '-conv_form', 'compressed']);
    assert.equal(pemDecode(compressed, ['PUBLIC KEY']).der.length, 59);
    const full = gm.publicKeyFromPem(opensslOk(['pkey', '-in', key, '-pubout']));
    assert.deepEqual(gm.publicKeyFromPem(compressed), full);
    assert.equal(full.length, 65);
  });

  it("node's own crypto.sign on an SM2 key uses the EMPTY id, so it is not accepted here", () => {
    // Documents why src/crypto/sm2.ts does not use node:crypto for SM2.
    const kp = gm.generateKeyPair();
    const nodeSig = new Uint8Array(nodeSign('sm3', message, createPrivateKey(kp.privateKeyPem)));
    assert.ok(!gm.verify(kp.publicKey, message, nodeSig));
    assert.ok(sm2.verify(kp.publicKey, message, nodeSig, new Uint8Array(0)));
  });
});

describe('SM2 robustness', () => {
  const kp = gm.generateKeyPair();
  const signer = gm.signerFromPem(kp.privateKeyPem);
  const msg = utf8Encode('robustness');
  const sig = signer.sign(msg);
  const { r, s } = decodeSignature(sig);
  const n = SM2_CURVE.n;

  it('signatures are randomized and all verify', () => {
    const other = signer.sign(msg);
    assert.notDeepEqual(other, sig);
    assert.ok(gm.verify(kp.publicKey, msg, sig));
    assert.ok(gm.verify(kp.publicKey, msg, other));
    assert.ok(gm.verify(kp.publicKey, new Uint8Array(0), signer.sign(new Uint8Array(0))));
  });

  it('returns false (never throws) on garbage signatures', () => {
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0x30),
      Uint8Array.of(0x30, 0x00),
      new Uint8Array(72).fill(0xff),
      fromHex('3006020100020100'),
      encodeSignature(0n, s),
      encodeSignature(r, 0n),
      encodeSignature(r + n, s),
      encodeSignature(r, s + n),
      encodeSignature(n - r, s),
      encodeSignature(r, n - s),
      encodeSignature(s, r),
      sig.subarray(0, sig.length - 1),
      Uint8Array.from([...sig, 0]),
      // non-minimal INTEGER encodings of the same (r, s)
      encodeTlv(
        0x30,
        encodeTlv(0x02, Uint8Array.of(0, 0), fromHex(r.toString(16).padStart(64, '0'))),
        sig.subarray(2 + sig[3] + 2),
      ),
      // BER long-form length where DER requires short form
      Uint8Array.from([0x30, 0x81, sig[1], ...sig.subarray(2)]),
      // indefinite length
      Uint8Array.from([0x30, 0x80, ...sig.subarray(2), 0, 0]),
    ];
    for (let i = 0; i < 200; i++)
      garbage.push(
        new Uint8Array(Math.floor(Math.random() * 80)).map(() => Math.floor(Math.random() * 256)),
      );
    for (const g of garbage) {
      assert.equal(gm.verify(kp.publicKey, msg, g), false, toHex(g));
    }
  });

  it('returns false on bad public keys and non-byte inputs', () => {
    const offCurve = kp.publicKey.slice();
    offCurve[64] ^= 1;
    const compressed = sm2.Point.fromBytes(kp.publicKey).toBytes(true);
    const bad: unknown[] = [
      offCurve,
      new Uint8Array(65),
      compressed,
      kp.publicKey.subarray(1),
      null,
      'abc',
      [4, 1, 2],
    ];
    for (const pk of bad) assert.equal(gm.verify(pk as Uint8Array, msg, sig), false);
    assert.equal(gm.verify(kp.publicKey, 'robustness' as unknown as Uint8Array, sig), false);
    assert.equal(gm.verify(kp.publicKey, msg, null as unknown as Uint8Array), false);
  });

  it('rejects non-SM2 and malformed private keys with CryptoError', () => {
    const p256 = getProfile('standard').generateKeyPair();
    assert.throws(() => gm.signerFromPem(p256.privateKeyPem), isCode('CRYPTO_BAD_KEY'));
    assert.throws(() => gm.signerFromPem('not a pem'), isCode('PEM_MALFORMED'));
    // Splice another key's public point into the PKCS#8 body: must be detected.
    const other = gm.generateKeyPair();
    const der = pemDecode(kp.privateKeyPem, ['PRIVATE KEY']).der.slice();
    der.set(other.publicKey, der.length - 65);
    const spliced = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    assert.throws(() => gm.signerFromPem(spliced), isCode('CRYPTO_BAD_KEY'));
    assert.throws(() => sm2.publicKeyFromPrivate(0n), isCode('CRYPTO_BAD_KEY'));
    assert.throws(() => sm2.publicKeyFromPrivate(n - 1n), isCode('CRYPTO_BAD_KEY'));
    assert.throws(() => gm.publicKeyToPem(new Uint8Array(65)), isCode('CRYPTO_BAD_KEY'));
    assert.throws(
      () => gm.publicKeyFromPem(getProfile('standard').publicKeyToPem(p256.publicKey)),
      isCode('CRYPTO_BAD_KEY'),
    );
  });

  it('the verification key cache stays correct while building and evicting tables', () => {
    const engine = new Sm2Engine(SM2_CURVE, 4);
    engine.configureCache({ maxKeys: 2, maxTabledKeys: 1, hotThreshold: 2, tableWindow: 4 });
    const keys = [1n, 2n, 3n].map(() => engine.randomPrivateKey());
    const pubs = keys.map((d) => engine.publicKeyFromPrivate(d));
    const sigs = keys.map((d) => engine.sign(d, msg));
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3; i++) {
        assert.ok(engine.verify(pubs[i], msg, sigs[i]), `round ${round} key ${i}`);
        assert.ok(!engine.verify(pubs[i], msg, sigs[(i + 1) % 3]));
        assert.ok(engine.cacheStats().keys <= 2);
        assert.ok(engine.cacheStats().tabledKeys <= 1);
      }
    }
  });

  it('tables go to the busiest keys without thrashing', () => {
    const engine = new Sm2Engine(SM2_CURVE, 4);
    engine.configureCache({ maxKeys: 8, maxTabledKeys: 1, hotThreshold: 2, tableWindow: 4 });
    const keys = [1n, 2n].map(() => engine.randomPrivateKey());
    const pubs = keys.map((d) => engine.publicKeyFromPrivate(d));
    const sigs = keys.map((d) => engine.sign(d, msg));
    const verifyTimes = (i: number, times: number) => {
      for (let t = 0; t < times; t++) assert.ok(engine.verify(pubs[i], msg, sigs[i]));
    };
    verifyTimes(0, 3);
    assert.ok(engine.hasTable(pubs[0]));
    // Equally busy keys must not evict each other (that would rebuild tables forever).
    verifyTimes(1, 3);
    assert.ok(engine.hasTable(pubs[0]) && !engine.hasTable(pubs[1]));
    // A clearly busier key takes the slot.
    verifyTimes(1, 4);
    assert.ok(engine.hasTable(pubs[1]) && !engine.hasTable(pubs[0]));
    assert.equal(engine.cacheStats().tabledKeys, 1);
    assert.ok(!engine.verify(pubs[1], msg, sigs[0]));
    // A flood of one-off keys cycles through the LRU but must not flush the table.
    for (let i = 0; i < 20; i++) {
      const d = engine.randomPrivateKey();
      assert.ok(engine.verify(engine.publicKeyFromPrivate(d), msg, engine.sign(d, msg)));
    }
    assert.ok(engine.hasTable(pubs[1]));
    assert.equal(engine.cacheStats().keys, 8);
    verifyTimes(0, 1);
    engine.configureCache({ maxTabledKeys: 0 });
    assert.equal(engine.cacheStats().tabledKeys, 0);
    assert.ok(engine.verify(pubs[1], msg, sigs[1]));
    assert.throws(() => engine.configureCache({ tableWindow: 20 }), isCode('CRYPTO_BAD_OPTION'));
  });

  it('the default ID constant is the GM/T 0009 value', () => {
    assert.equal(SM2_DEFAULT_ID, '1234567812345678');
    assert.deepEqual(
      sm2.computeZ(kp.publicKey),
      sm2.computeZ(kp.publicKey, utf8Encode(SM2_DEFAULT_ID)),
    );
    assert.notDeepEqual(sm2.computeZ(kp.publicKey), sm2.computeZ(kp.publicKey, new Uint8Array(0)));
  });
});
