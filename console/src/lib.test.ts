/**
 * Unit tests of the console's browser-side crypto and parsing, checked against the node's
 * own implementations (node:crypto, src/codec, src/state, src/crypto/x509), and of its small
 * helpers (counts in words, the look back for recent txs). They run in Node: nothing here
 * touches the DOM. scripts/run-tests.mjs finds it under console/src so that
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
import { type BlockSummary, RecentTxs } from './feed.ts';
import { noun, plural, scanForTxs } from './lib.ts';
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

describe('console counts in words', () => {
  it('puts the noun in the singular for one thing only', () => {
    assert.equal(plural(1, 'method'), '1 method');
    assert.equal(plural(0, 'method'), '0 methods');
    assert.equal(plural(3, 'method'), '3 methods');
    assert.equal(plural(20_000, 'tx'), '20,000 txs');
    assert.equal(plural(1, 'sibling hash', 'sibling hashes'), '1 sibling hash');
    assert.equal(plural(2, 'sibling hash', 'sibling hashes'), '2 sibling hashes');
    assert.equal(plural(0.5, 'block'), '0.5 blocks');
    assert.equal(noun(1, 'block'), 'block');
    assert.equal(noun(2, 'tx/s', 'tx/s'), 'tx/s');
  });
});

interface FakeBlock {
  height: number;
  txs: string[];
}

/** A chain of `height + 1` blocks where `txs` maps the heights that hold txs to their count. */
function fakeChain(height: number, txs: Record<number, number>) {
  const fetched: number[] = [];
  /** Commit one more block holding `count` txs. */
  const grow = (count: number): number => {
    height++;
    txs[height] = count;
    return height;
  };
  const fetch = async (h: number): Promise<FakeBlock> => {
    assert.ok(h >= 0 && h <= height, `no block ${h}`);
    fetched.push(h);
    return { height: h, txs: Array.from({ length: txs[h] ?? 0 }, (_, i) => `tx${h}.${i}`) };
  };
  const summary = (h: number): BlockSummary => ({
    height: h,
    hash: `h${h}`,
    time: h,
    txCount: txs[h] ?? 0,
    proposer: '',
    seenAt: 0,
    live: false,
  });
  return { fetch, fetched, summary, grow };
}

describe('console look back for recent txs', () => {
  it('walks back past empty blocks to the newest txs and stops once it has enough', async () => {
    const chain = fakeChain(1000, { 100: 3, 400: 2, 900: 1 });
    const scan = await scanForTxs({ top: 1000, want: 3, maxFetch: 10_000, fetch: chain.fetch });
    assert.deepEqual(
      scan.blocks.map((b) => b.height),
      [900, 400],
    );
    assert.ok(scan.lowest <= 400 && scan.lowest > 100, `lowest ${scan.lowest}`);
    assert.equal(scan.fetched, chain.fetched.length);
    assert.ok(scan.fetched <= 1000 - 400 + 8, `fetched ${scan.fetched}`);
  });

  it('spends no request on heights it knows are empty, and stops at the fetch limit', async () => {
    const chain = fakeChain(5000, { 10: 5 });
    // The feed knows the top 200 heights: all empty.
    const known = (h: number) => (h > 4800 ? 0 : undefined);
    const scan = await scanForTxs({
      top: 5000,
      want: 50,
      maxFetch: 300,
      fetch: chain.fetch,
      known,
      parallel: 6,
    });
    assert.deepEqual(scan.blocks, []);
    assert.equal(scan.fetched, 300);
    assert.ok(
      chain.fetched.every((h) => h <= 4800),
      'fetched a height the feed knew was empty',
    );
    assert.equal(scan.lowest, 4800 - 300 + 1);
  });

  it('ends at genesis', async () => {
    const chain = fakeChain(20, { 0: 0, 5: 1 });
    const scan = await scanForTxs({ top: 20, want: 50, maxFetch: 1000, fetch: chain.fetch });
    assert.equal(scan.lowest, 0);
    assert.deepEqual(
      scan.blocks.map((b) => b.height),
      [5],
    );
    assert.equal(scan.fetched, 21);
  });

  it('says how far it looked, looks further on demand and keeps up with new blocks', async () => {
    const chain = fakeChain(2000, { 300: 2 });
    const recent = new RecentTxs(chain.fetch, 50, 500);
    const settled = () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!recent.getSnapshot().scanning) {
            off();
            resolve();
          }
        };
        const off = recent.subscribe(check);
        setTimeout(check, 0);
      });
    // The feed holds the 30 newest blocks, all empty.
    const feed = Array.from({ length: 30 }, (_, i) => chain.summary(2000 - i));
    recent.onFeed(feed);
    await settled();
    let snap = recent.getSnapshot();
    assert.deepEqual(snap.blocks, []);
    assert.equal(snap.top, 2000);
    assert.equal(snap.lowest, 2000 - 30 - 500 + 1);
    assert.equal(snap.complete, false);
    assert.ok(chain.fetched.every((h) => h <= 1970));

    recent.further();
    await settled();
    snap = recent.getSnapshot();
    assert.equal(snap.lowest, 2000 - 30 - 1000 + 1);
    recent.further();
    await settled();
    assert.equal(recent.getSnapshot().lowest, 2000 - 30 - 1500 + 1);
    recent.further();
    await settled();
    snap = recent.getSnapshot();
    assert.deepEqual(
      snap.blocks.map((b) => b.height),
      [300],
    );
    assert.equal(snap.complete, true);
    assert.equal(snap.lowest, 0);

    // A new block with txs arrives on the feed: fetched once, listed first.
    const fetchedBefore = chain.fetched.length;
    const next = chain.summary(chain.grow(1));
    const live = new Promise<void>((resolve) => {
      const off = recent.subscribe(() => {
        if (recent.getSnapshot().blocks[0]?.height === 2001) {
          off();
          resolve();
        }
      });
    });
    recent.onFeed([next, ...feed]);
    recent.onFeed([next, ...feed]);
    await live;
    assert.deepEqual(chain.fetched.slice(fetchedBefore), [2001]);
    assert.equal(recent.getSnapshot().top, 2001);
  });
});
