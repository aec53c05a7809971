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
import { type BlockSummary, RecentTxs, type TxBlocksPage } from './feed.ts';
import { newestHolding, noun, plural } from './lib.ts';
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

/**
 * A node whose chain has `height + 1` blocks, `txs` mapping the heights that hold txs to
 * their count: GET /v1/blocks/:height and GET /v1/blocks?nonEmpty=true as docs/RPC.md says,
 * a page looking at `scanMax` heights at most.
 */
function fakeChain(height: number, txs: Record<number, number>, scanMax = 10_000) {
  const fetched: number[] = [];
  const pages: Array<[before: number, limit: number]> = [];
  let failPages = 0;
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
  const page = async (before: number, limit: number): Promise<TxBlocksPage> => {
    assert.ok(Number.isSafeInteger(before) && before >= 1, `before ${before}`);
    assert.ok(Number.isSafeInteger(limit) && limit >= 1 && limit <= 100, `limit ${limit}`);
    pages.push([before, limit]);
    if (failPages > 0) {
      failPages--;
      throw new Error('cannot reach the node');
    }
    const top = Math.min(before - 1, height);
    const floor = Math.max(0, top - scanMax + 1);
    const blocks: TxBlocksPage['blocks'] = [];
    let lowest = floor;
    for (let h = top; h >= floor; h--) {
      if (!txs[h]) continue;
      blocks.push({ height: h, txCount: txs[h] });
      if (blocks.length === limit) {
        lowest = h;
        break;
      }
    }
    return { blocks, scannedFrom: lowest, next: lowest > 0 ? lowest : null };
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
  return {
    fetch,
    page,
    fetched,
    pages,
    summary,
    grow,
    failNextPages: (n: number) => {
      failPages = n;
    },
  };
}

/** Resolves once the look back is not scanning. */
function settled(recent: RecentTxs<FakeBlock>): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => {
      if (!recent.getSnapshot().scanning) {
        off();
        resolve();
      }
    };
    const off = recent.subscribe(check);
    setTimeout(check, 0);
  });
}

/** Resolves once `ok` holds of the look back's snapshot. */
function until(recent: RecentTxs<FakeBlock>, ok: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => {
      if (ok()) {
        off();
        resolve();
      }
    };
    const off = recent.subscribe(check);
    check();
  });
}

describe('console look back for recent txs', () => {
  it('takes the fewest newest blocks that hold enough txs', () => {
    const b = (height: number, txCount: number) => ({ height, txCount });
    assert.deepEqual(newestHolding([b(9, 2), b(7, 3), b(5, 1)], 4), [b(9, 2), b(7, 3)]);
    assert.deepEqual(newestHolding([b(9, 2), b(7, 3)], 2), [b(9, 2)]);
    assert.deepEqual(newestHolding([b(9, 2), b(7, 3)], 50), [b(9, 2), b(7, 3)]);
    assert.deepEqual(newestHolding([], 5), []);
  });

  it('asks the node once for the blocks with txs and fetches only those it lists', async () => {
    const chain = fakeChain(20_000, { 100: 3, 15000: 30, 19500: 40, 19990: 20 });
    const recent = new RecentTxs(chain.page, chain.fetch, 50);
    // The feed holds the 30 newest blocks, all empty.
    recent.onFeed(Array.from({ length: 30 }, (_, i) => chain.summary(20_000 - i)));
    await settled(recent);
    const snap = recent.getSnapshot();
    assert.deepEqual(chain.pages, [[20_001, 50]]);
    // 20 + 40 txs hold the 50 wanted: block 15000 is not fetched, and the look ends at 19500.
    assert.deepEqual(chain.fetched, [19_990, 19_500]);
    assert.deepEqual(
      snap.blocks.map((b) => b.height),
      [19_990, 19_500],
    );
    assert.equal(snap.top, 20_000);
    assert.equal(snap.lowest, 19_500);
    assert.equal(snap.complete, false);
    assert.equal(snap.error, null);
  });

  it('says how far it looked, looks further on demand and ends at genesis', async () => {
    const chain = fakeChain(2500, { 300: 2 }, 1000);
    const recent = new RecentTxs(chain.page, chain.fetch, 50);
    const feed = Array.from({ length: 30 }, (_, i) => chain.summary(2500 - i));
    recent.onFeed(feed);
    await settled(recent);
    let snap = recent.getSnapshot();
    assert.deepEqual(snap.blocks, []);
    assert.equal(snap.top, 2500);
    assert.equal(snap.lowest, 2500 - 1000 + 1);
    assert.equal(snap.complete, false);
    assert.deepEqual(chain.fetched, [], 'no block fetched for a page without txs');

    recent.further();
    await settled(recent);
    assert.equal(recent.getSnapshot().lowest, 501);
    recent.further();
    await settled(recent);
    snap = recent.getSnapshot();
    assert.deepEqual(
      snap.blocks.map((b) => b.height),
      [300],
    );
    assert.equal(snap.lowest, 0);
    assert.equal(snap.complete, true);
    // Each look continued where the last one ended.
    assert.deepEqual(chain.pages, [
      [2501, 50],
      [1501, 50],
      [501, 50],
    ]);
    recent.further();
    await settled(recent);
    assert.equal(chain.pages.length, 3, 'nothing is older than genesis');
    assert.deepEqual(chain.fetched, [300]);
  });

  it('keeps up with the feed: new blocks with txs once each, and heights it skipped', async () => {
    const chain = fakeChain(2000, { 1990: 1 });
    const recent = new RecentTxs(chain.page, chain.fetch, 50);
    const feed = Array.from({ length: 30 }, (_, i) => chain.summary(2000 - i));
    recent.onFeed(feed);
    await settled(recent);
    assert.equal(recent.getSnapshot().complete, true);
    assert.deepEqual(chain.fetched, [1990]);

    // A new block with txs arrives on the feed: fetched once, listed first.
    const next = chain.summary(chain.grow(2));
    recent.onFeed([next, ...feed]);
    recent.onFeed([next, ...feed]);
    await until(recent, () => recent.getSnapshot().blocks[0]?.height === 2001);
    assert.deepEqual(chain.fetched, [1990, 2001]);
    assert.equal(recent.getSnapshot().top, 2001);
    assert.equal(chain.pages.length, 1, 'the feed held every new height');

    // The socket was down for 100 blocks: the feed holds only the newest 30 of them.
    for (let i = 0; i < 40; i++) chain.grow(0);
    const missed = chain.grow(3);
    for (let i = 0; i < 59; i++) chain.grow(0);
    const later = Array.from({ length: 30 }, (_, i) => chain.summary(2101 - i));
    recent.onFeed(later);
    await until(recent, () => recent.getSnapshot().blocks[0]?.height === missed);
    assert.deepEqual(chain.pages.at(-1), [2102, 100]);
    assert.deepEqual(chain.fetched, [1990, 2001, missed]);
    assert.deepEqual(
      recent.getSnapshot().blocks.map((b) => b.height),
      [missed, 2001, 1990],
    );
    assert.equal(recent.getSnapshot().top, 2101);
  });

  it('shows a failed look and tries again from the head', async () => {
    const chain = fakeChain(100, { 50: 1 });
    chain.failNextPages(1);
    const recent = new RecentTxs(chain.page, chain.fetch, 50);
    recent.onFeed([chain.summary(100)]);
    await settled(recent);
    let snap = recent.getSnapshot();
    assert.equal(snap.error, 'cannot reach the node');
    assert.equal(snap.lowest, null);
    recent.further();
    await settled(recent);
    snap = recent.getSnapshot();
    assert.equal(snap.error, null);
    assert.deepEqual(
      snap.blocks.map((b) => b.height),
      [50],
    );
    assert.equal(snap.complete, true);
    assert.deepEqual(chain.pages, [
      [101, 50],
      [101, 50],
    ]);
  });
});
