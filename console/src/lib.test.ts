/**
 * Unit tests of the console's browser-side crypto and parsing, checked against the node's
 * own implementations (node:crypto, src/codec, src/state, src/crypto/x509). They run in
 * Node: nothing here touches the DOM. scripts/run-tests.mjs finds it under console/src so that
 * `npm test` runs it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { create, encode, HeaderSchema } from '../../src/codec/index.ts';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { issueCertificate } from '../../src/crypto/x509.ts';
import { MemoryNodeStore } from '../../src/state/memory-nodes.ts';
import { proofToJson } from '../../src/state/proof.ts';
import { EMPTY_ROOT, SparseMerkleTree } from '../../src/state/smt.ts';
import { addressOf, decodeHeader, fromHex, toHex, verifyReads } from './chain.ts';
import { sha256 } from './sha256.ts';
import { sm3 } from './sm3.ts';
import { parseCert } from './x509.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('console hashes', () => {
  it('sha256 matches node:crypto for lengths around every padding boundary', () => {
    for (let len = 0; len <= 300; len++) {
      const data = randomBytes(len);
      assert.equal(
        toHex(sha256(data)),
        createHash('sha256').update(data).digest('hex'),
        `len ${len}`,
      );
    }
    const big = randomBytes(100_000);
    assert.equal(toHex(sha256(big)), createHash('sha256').update(big).digest('hex'));
  });

  it('sm3 gives the GB/T 32905-2016 test vectors', () => {
    assert.equal(
      toHex(sm3(enc('abc'))),
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    assert.equal(
      toHex(sm3(enc('abcd'.repeat(16)))),
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('sm3 matches OpenSSL for lengths around every padding boundary', () => {
    for (let len = 0; len <= 200; len++) {
      const data = randomBytes(len);
      assert.equal(toHex(sm3(data)), createHash('sm3').update(data).digest('hex'), `len ${len}`);
    }
  });

  it('addresses match the node profile for both crypto profiles', () => {
    for (const name of ['standard', 'gm'] as const) {
      const p = getProfile(name);
      const { publicKey } = p.generateKeyPair();
      assert.equal(addressOf(name, toHex(publicKey)), address(p, publicKey));
    }
  });
});

describe('console header decoding and proof checks', () => {
  const header = create(HeaderSchema, {
    chainId: 'test-chain',
    height: 123456789012n,
    time: 1_700_000_000_123n,
    prevHash: randomBytes(32),
    txRoot: randomBytes(32),
    stateRoot: randomBytes(32),
    resultsRoot: randomBytes(32),
    validatorsHash: randomBytes(32),
    proposer: randomBytes(20),
    lastCommitHash: randomBytes(32),
    evidenceHash: randomBytes(32),
    txCount: 7,
  });

  it('decodes the fields it needs like the protobuf codec', () => {
    const h = decodeHeader(encode(HeaderSchema, header));
    assert.equal(h.chainId, 'test-chain');
    assert.equal(h.height, 123456789012);
    assert.equal(h.time, 1_700_000_000_123);
    assert.equal(toHex(h.stateRoot), toHex(header.stateRoot));
    assert.equal(toHex(h.proposer), toHex(header.proposer));
    assert.throws(() => decodeHeader(encode(HeaderSchema, header).subarray(0, 40)));
  });

  for (const crypto of ['standard', 'gm'] as const) {
    it(`verifies membership and absence proofs from the node's tree (${crypto})`, () => {
      const hash = (d: Uint8Array) => getProfile(crypto).hash(d);
      const store = new MemoryNodeStore();
      const tree = new SparseMerkleTree(hash, store);
      const changes = Array.from({ length: 50 }, (_, i) => ({
        key: enc(`kv/k${i}`),
        value: enc(JSON.stringify(`v${i}`)),
      }));
      const { root, newNodes } = tree.update(EMPTY_ROOT, changes);
      for (const [h, e] of newNodes) store.put(h, e);
      const h = create(HeaderSchema, { ...header, height: 9n, stateRoot: root });
      const headerBytes = encode(HeaderSchema, h);
      const block = { hash: toHex(hash(headerBytes)), headerBytes: toHex(headerBytes) };
      const reads = [
        {
          key: 'kv/k7',
          value: toHex(enc('"v7"')),
          proof: proofToJson(tree.prove(root, enc('kv/k7'))),
        },
        { key: 'kv/nope', value: null, proof: proofToJson(tree.prove(root, enc('kv/nope'))) },
      ];
      const ok = verifyReads(crypto, block, 9, toHex(root), reads);
      assert.equal(ok.ok, true, JSON.stringify(ok));

      const tampered = [{ ...reads[0], value: toHex(enc('"v8"')) }];
      const bad = verifyReads(crypto, block, 9, toHex(root), tampered);
      assert.equal(bad.ok, false);
      assert.match(bad.ok ? '' : bad.reason, /does not lead to the state root/);

      const wrongHeight = verifyReads(crypto, block, 10, toHex(root), reads);
      assert.match(wrongHeight.ok ? '' : wrongHeight.reason, /block header is at 9/);

      const wrongRoot = verifyReads(crypto, block, 9, toHex(randomBytes(32)), reads);
      assert.match(wrongRoot.ok ? '' : wrongRoot.reason, /state root/);

      const forged = { ...block, hash: toHex(randomBytes(32)) };
      assert.match(
        (verifyReads(crypto, forged, 9, toHex(root), reads) as { reason: string }).reason,
        /block hash/,
      );
      const otherProfile = crypto === 'gm' ? 'standard' : 'gm';
      assert.equal(verifyReads(otherProfile, block, 9, toHex(root), reads).ok, false);
    });
  }
});

describe('console certificate parsing', () => {
  it('reads subject, issuer, validity, algorithms and the CA flag', () => {
    for (const name of ['standard', 'gm'] as const) {
      const p = getProfile(name);
      const ca = p.generateKeyPair();
      const caSigner = p.signerFromPem(ca.privateKeyPem);
      const user = p.generateKeyPair();
      const notBefore = new Date('2025-01-02T03:04:05Z');
      const notAfter = new Date('2060-01-02T03:04:05Z');
      const issuerName = { O: 'org1', CN: 'org1 CA' };
      const caDer = issueCertificate({
        profile: p,
        issuer: caSigner,
        issuerName,
        subjectName: issuerName,
        subjectPublicKey: ca.publicKey,
        notBefore,
        notAfter,
        isCA: true,
      });
      const userDer = issueCertificate({
        profile: p,
        issuer: caSigner,
        issuerName,
        subjectName: { O: 'org1', OU: 'admin', CN: 'admin' },
        subjectPublicKey: user.publicKey,
        serial: fromHex('0badc0de'),
        notBefore,
        notAfter,
        isCA: false,
      });
      const c = parseCert(toHex(caDer));
      assert.equal(c.isCA, true);
      assert.deepEqual(c.subject, { O: 'org1', CN: 'org1 CA' });
      const u = parseCert(toHex(userDer));
      assert.equal(u.isCA, false);
      assert.equal(u.subject.OU, 'admin');
      assert.equal(u.issuer.CN, 'org1 CA');
      assert.equal(u.serial, '0badc0de');
      assert.equal(u.notBefore.toISOString(), '2025-01-02T03:04:05.000Z');
      assert.equal(u.notAfter.toISOString(), '2060-01-02T03:04:05.000Z');
      assert.equal(u.keyAlgorithm, name === 'gm' ? 'SM2' : 'P-256');
      assert.equal(u.signatureAlgorithm, name === 'gm' ? 'SM2 with SM3' : 'ECDSA with SHA-256');
    }
  });
});
