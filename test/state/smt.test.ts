import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNodeStore } from '../../src/state/memory-nodes.ts';
import { verifyProof } from '../../src/state/proof.ts';
import {
  decodeNode,
  EMPTY_ROOT,
  type HashFn,
  type NodeReader,
  SparseMerkleTree,
  type TreeChange,
} from '../../src/state/smt.ts';
import {
  HASHES,
  Harness,
  hex,
  identityPathHash,
  Rng,
  referenceRoot,
  setsFrom,
  sha256,
  utf8,
} from './helpers.ts';

const set = (k: string, v: string): TreeChange => ({ key: utf8(k), value: utf8(v) });
const del = (k: string): TreeChange => ({ key: utf8(k), value: null });
const mapOf = (pairs: Array<[string, string]>) =>
  new Map(pairs.map(([k, v]) => [hex(utf8(k)), utf8(v)]));

/** Every node hash reachable from root (to compare what an update really had to create). */
function reachable(store: NodeReader, root: Uint8Array): Set<string> {
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (h.every((b) => b === 0)) continue;
    seen.add(hex(h));
    const node = decodeNode(store.getNode(h)!);
    if (node.kind === 'internal') stack.push(node.left, node.right);
  }
  return seen;
}

/** Walks the whole tree and fails on a structure the compact rules forbid. */
function assertCanonical(store: NodeReader, root: Uint8Array): void {
  const visit = (h: Uint8Array, depth: number): 'empty' | 'leaf' | 'internal' => {
    if (h.every((b) => b === 0)) return 'empty';
    const node = decodeNode(store.getNode(h)!);
    if (node.kind === 'leaf') return 'leaf';
    const l = visit(node.left, depth + 1);
    const r = visit(node.right, depth + 1);
    assert.ok(!(l === 'empty' && r === 'empty'), `internal node with two empty children`);
    assert.ok(!(l === 'empty' && r === 'leaf'), `uncollapsed leaf at depth ${depth + 1}`);
    assert.ok(!(l === 'leaf' && r === 'empty'), `uncollapsed leaf at depth ${depth + 1}`);
    return 'internal';
  };
  visit(root, 0);
}

for (const [name, hash] of HASHES) {
  describe(`SparseMerkleTree (${name})`, () => {
    it('starts from the all-zero empty root', () => {
      assert.equal(hex(EMPTY_ROOT), '00'.repeat(32));
      const h = new Harness(hash);
      const res = h.tree.update(EMPTY_ROOT, []);
      assert.deepEqual(res.root, EMPTY_ROOT);
      assert.equal(res.newNodes.length, 0);
      assert.equal(h.tree.getValueHash(EMPTY_ROOT, utf8('a')), undefined);
      assert.deepEqual(h.tree.prove(EMPTY_ROOT, utf8('a')), { siblings: [] });
      assert.deepEqual([...h.tree.leaves(EMPTY_ROOT)], []);
    });

    it('a single leaf is the root and hashes as H(0x00 || H(key) || H(value))', () => {
      const h = new Harness(hash);
      const res = h.tree.update(EMPTY_ROOT, [set('alice', '100')]);
      const expected = hash(
        Buffer.concat([Buffer.from([0]), hash(utf8('alice')), hash(utf8('100'))]),
      );
      assert.equal(hex(res.root), hex(expected));
      assert.equal(res.newNodes.length, 1);
      const [nodeHash, encoded] = res.newNodes[0];
      assert.equal(hex(nodeHash), hex(expected));
      assert.equal(encoded.length, 65);
      assert.equal(hex(hash(encoded)), hex(nodeHash));
    });

    it('two leaves whose paths differ in the first bit hash as H(0x01 || left || right)', () => {
      const firstBit = (k: string) => hash(utf8(k))[0] >> 7;
      const other = Array.from({ length: 64 }, (_, i) => `k${i}`).find(
        (k) => firstBit(k) !== firstBit('k'),
      )!;
      const h = new Harness(hash);
      const root = h.apply(EMPTY_ROOT, [set('k', '1'), set(other, '2')]);
      const leafK = hash(Buffer.concat([Buffer.from([0]), hash(utf8('k')), hash(utf8('1'))]));
      const leafO = hash(Buffer.concat([Buffer.from([0]), hash(utf8(other)), hash(utf8('2'))]));
      const [l, r] = firstBit('k') === 0 ? [leafK, leafO] : [leafO, leafK];
      assert.equal(hex(root), hex(hash(Buffer.concat([Buffer.from([1]), l, r]))));
      assert.equal(h.tree.prove(root, utf8('k')).siblings.length, 1);
    });

    it('inserts, updates and deletes', () => {
      const h = new Harness(hash);
      let root = h.apply(EMPTY_ROOT, [set('a', '1'), set('b', '2'), set('c', '3')]);
      assert.equal(
        hex(root),
        hex(
          referenceRoot(
            hash,
            mapOf([
              ['a', '1'],
              ['b', '2'],
              ['c', '3'],
            ]),
          ),
        ),
      );
      assert.equal(hex(h.tree.getValueHash(root, utf8('b'))!), hex(hash(utf8('2'))));
      assert.equal(h.tree.getValueHash(root, utf8('d')), undefined);

      const before = root;
      root = h.apply(root, [set('b', '22')]);
      assert.notEqual(hex(root), hex(before));
      assert.equal(hex(h.tree.getValueHash(root, utf8('b'))!), hex(hash(utf8('22'))));
      assert.equal(
        hex(root),
        hex(
          referenceRoot(
            hash,
            mapOf([
              ['a', '1'],
              ['b', '22'],
              ['c', '3'],
            ]),
          ),
        ),
      );

      root = h.apply(root, [del('b')]);
      assert.equal(h.tree.getValueHash(root, utf8('b')), undefined);
      assert.equal(
        hex(root),
        hex(
          referenceRoot(
            hash,
            mapOf([
              ['a', '1'],
              ['c', '3'],
            ]),
          ),
        ),
      );
      assertCanonical(h.store, root);

      root = h.apply(root, [del('a')]);
      assert.equal(hex(root), hex(referenceRoot(hash, mapOf([['c', '3']]))));
      root = h.apply(root, [del('c')]);
      assert.deepEqual(root, EMPTY_ROOT);
    });

    it('deleting absent keys or rewriting equal values changes nothing and stores nothing', () => {
      const h = new Harness(hash);
      const root = h.apply(EMPTY_ROOT, [set('a', '1'), set('b', '2'), set('c', '3')]);
      const res = h.tree.update(root, [del('zz'), del('yy'), set('a', '1')]);
      assert.equal(hex(res.root), hex(root));
      assert.equal(res.newNodes.length, 0);
      assert.deepEqual(h.tree.update(EMPTY_ROOT, [del('x')]).root, EMPTY_ROOT);
    });

    it('the empty value is a value, distinct from deletion', () => {
      const h = new Harness(hash);
      const root = h.apply(EMPTY_ROOT, [{ key: utf8('k'), value: new Uint8Array(0) }]);
      assert.notDeepEqual(root, EMPTY_ROOT);
      assert.equal(hex(h.tree.getValueHash(root, utf8('k'))!), hex(hash(new Uint8Array(0))));
    });

    it('the last write per key in a batch wins', () => {
      const h = new Harness(hash);
      const r1 = h.apply(EMPTY_ROOT, [set('k', '1'), set('j', '0'), set('k', '2')]);
      assert.equal(hex(h.tree.getValueHash(r1, utf8('k'))!), hex(hash(utf8('2'))));
      const r2 = h.apply(EMPTY_ROOT, [set('k', '1'), set('j', '0'), del('k')]);
      assert.equal(h.tree.getValueHash(r2, utf8('k')), undefined);
      assert.equal(hex(r2), hex(referenceRoot(hash, mapOf([['j', '0']]))));
      const r3 = h.apply(r1, [del('k'), set('k', '3')]);
      assert.equal(hex(h.tree.getValueHash(r3, utf8('k'))!), hex(hash(utf8('3'))));
    });

    it('deleting everything returns EMPTY_ROOT', () => {
      const h = new Harness(hash);
      const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
      let root = h.apply(
        EMPTY_ROOT,
        keys.map((k) => set(k, k)),
      );
      assert.deepEqual(h.tree.update(root, keys.map(del)).root, EMPTY_ROOT);
      // And one by one, which collapses a different way at every step.
      for (const k of keys) root = h.apply(root, [del(k)]);
      assert.deepEqual(root, EMPTY_ROOT);
    });

    it('matches the from-scratch reference under random ops, any order and any batching', () => {
      const rng = new Rng(name === 'sha256' ? 0xa11ce : 0x5eed);
      const keySpace = Array.from({ length: 400 }, (_, i) => hex(utf8(`acct/${i}`)));
      const h = new Harness(hash);
      const model = new Map<string, Uint8Array>();
      const allOps: TreeChange[] = [];
      let root = EMPTY_ROOT;
      let ops = 0;
      while (ops < 4000) {
        const size = 1 + rng.int(rng.int(4) === 0 ? 200 : 24);
        const batch: TreeChange[] = [];
        for (let i = 0; i < size; i++) {
          const k = keySpace[rng.int(keySpace.length)];
          const value = rng.int(10) < 6 ? rng.bytes(rng.int(40)) : null;
          batch.push({ key: Buffer.from(k, 'hex'), value });
          if (value === null) model.delete(k);
          else model.set(k, value);
        }
        ops += size;
        allOps.push(...batch);
        const res = h.tree.update(root, batch);
        for (const [nodeHash, encoded] of res.newNodes) {
          assert.equal(hex(hash(encoded)), hex(nodeHash), 'node stored under a wrong hash');
        }
        h.store.putAll(res.newNodes);
        root = res.root;
        assert.equal(hex(root), hex(referenceRoot(hash, model)), `diverged after ${ops} ops`);
      }
      assertCanonical(h.store, root);

      // The leaves are exactly the model, in path order.
      const leaves = [...h.tree.leaves(root)].map((l) => `${hex(l.path)}:${hex(l.valueHash)}`);
      const expected = [...model]
        .map(([k, v]) => `${hex(hash(Buffer.from(k, 'hex')))}:${hex(hash(v))}`)
        .sort();
      assert.deepEqual(leaves, expected);
      for (const k of keySpace) {
        const got = h.tree.getValueHash(root, Buffer.from(k, 'hex'));
        const want = model.get(k);
        assert.equal(got && hex(got), want && hex(hash(want)));
      }

      // The same ops as one batch, as single-op batches, and in random splits all agree.
      const fresh = new Harness(hash);
      assert.equal(hex(fresh.apply(EMPTY_ROOT, allOps)), hex(root));
      let single = EMPTY_ROOT;
      for (const op of allOps) single = fresh.apply(single, [op]);
      assert.equal(hex(single), hex(root));
      // Final contents inserted in shuffled order and random chunks.
      const finalSets = rng.shuffle(setsFrom(model));
      let chunked = EMPTY_ROOT;
      for (let i = 0; i < finalSets.length; ) {
        const n = 1 + rng.int(50);
        chunked = fresh.apply(chunked, finalSets.slice(i, i + n));
        i += n;
      }
      assert.equal(hex(chunked), hex(root));
    });

    it('creates exactly the new nodes and hashes nothing else', () => {
      const rng = new Rng(7);
      let calls = 0;
      const counting: HashFn = (d) => {
        calls++;
        return hash(d);
      };
      const store = new MemoryNodeStore();
      let reads = 0;
      const reader: NodeReader = {
        getNode: (k) => {
          reads++;
          return store.getNode(k);
        },
      };
      const tree = new SparseMerkleTree(counting, reader);
      const initial = Array.from({ length: 3000 }, (_, i) => set(`k${i}`, `v${i}`));
      let res = tree.update(EMPTY_ROOT, initial);
      store.putAll(res.newNodes);
      let root = res.root;

      for (let round = 0; round < 5; round++) {
        const batch: TreeChange[] = [];
        for (let i = 0; i < 200; i++) {
          const r = rng.int(3);
          if (r === 0) batch.push(set(`k${rng.int(3000)}`, `round${round}-${i}`));
          else if (r === 1) batch.push(set(`new${round}-${i}`, 'x'));
          else batch.push(del(`k${rng.int(3000)}`));
        }
        const before = reachable(store, root);
        calls = 0;
        reads = 0;
        res = tree.update(root, batch);
        store.putAll(res.newNodes);
        const after = reachable(store, res.root);
        const created = [...after].filter((x) => !before.has(x));
        const sets = batch.filter((c) => c.value !== null).length;
        // Each change hashes its key (and value); beyond that, only the nodes of the new tree.
        assert.equal(res.newNodes.length, created.length);
        assert.deepEqual(new Set(res.newNodes.map(([h]) => hex(h))), new Set(created));
        assert.equal(calls, batch.length + sets + res.newNodes.length);
        // Reads stay on the touched paths, plus at most one sibling per delete to decide a collapse.
        const touched = new Set<string>();
        for (const c of batch) {
          const path = hash(c.key);
          let node = root;
          for (let d = 0; !node.every((b) => b === 0); d++) {
            touched.add(hex(node));
            const n = decodeNode(store.getNode(node)!);
            if (n.kind === 'leaf') break;
            node = (path[d >> 3] >> (7 - (d & 7))) & 1 ? n.right : n.left;
          }
        }
        const deletes = batch.length - sets;
        assert.ok(reads <= touched.size + deletes, `${reads} reads, ${touched.size} touched`);
        assert.ok(touched.size < before.size / 2);
        root = res.root;
      }
    });

    it('prove and getValueHash agree with the tree for present and absent keys', () => {
      const h = new Harness(hash);
      const root = h.apply(
        EMPTY_ROOT,
        Array.from({ length: 50 }, (_, i) => set(`k${i}`, `v${i}`)),
      );
      for (let i = 0; i < 100; i++) {
        const key = utf8(`k${i}`);
        const proof = h.tree.prove(root, key);
        const value = i < 50 ? utf8(`v${i}`) : null;
        assert.ok(verifyProof(hash, root, key, value, proof));
      }
    });
  });
}

describe('SparseMerkleTree at extreme depth', () => {
  const key = (lastByte: number, firstByte = 0) => {
    const k = new Uint8Array(32);
    k[0] = firstByte;
    k[31] = lastByte;
    return k;
  };
  const entries = (ks: Uint8Array[]) => new Map(ks.map((k) => [hex(k), utf8(`v${hex(k)}`)]));

  it('places leaves differing only in the last bit at depth 256 and collapses them back', () => {
    const h = new Harness(identityPathHash);
    const a = key(0);
    const b = key(1);
    const c = key(0, 0x80);
    let root = h.apply(
      EMPTY_ROOT,
      [a, b, c].map((k) => ({ key: k, value: utf8(`v${hex(k)}`) })),
    );
    assert.equal(hex(root), hex(referenceRoot(identityPathHash, entries([a, b, c]))));
    assertCanonical(h.store, root);

    const pa = h.tree.prove(root, a);
    assert.equal(pa.siblings.length, 256);
    assert.ok(verifyProof(identityPathHash, root, a, utf8(`v${hex(a)}`), pa));
    // Shares 254 bits with a and b, then turns right into the empty half at depth 255.
    const absent = key(2);
    const pabs = h.tree.prove(root, absent);
    assert.equal(pabs.siblings.length, 255);
    assert.equal(pabs.leaf, undefined);
    assert.ok(verifyProof(identityPathHash, root, absent, null, pabs));

    root = h.apply(root, [{ key: b, value: null }]);
    assert.equal(hex(root), hex(referenceRoot(identityPathHash, entries([a, c]))));
    assert.equal(h.tree.prove(root, a).siblings.length, 1);
    assertCanonical(h.store, root);
  });
});

describe('SparseMerkleTree input and storage errors', () => {
  it('rejects bad roots and changes', () => {
    const h = new Harness(sha256);
    assert.throws(() => h.tree.update(new Uint8Array(31), []), /root/);
    assert.throws(() => h.tree.prove(new Uint8Array(33), utf8('a')), /root/);
    assert.throws(
      () => h.tree.update(EMPTY_ROOT, [{ key: 'a' as unknown as Uint8Array, value: null }]),
      /key/,
    );
    assert.throws(
      () => h.tree.update(EMPTY_ROOT, [{ key: utf8('a'), value: 5 as unknown as Uint8Array }]),
      /value/,
    );
    assert.throws(
      () => new SparseMerkleTree(() => new Uint8Array(20), h.store).update(EMPTY_ROOT, [del('a')]),
      /32 bytes/,
    );
  });

  it('reports a missing or corrupt node instead of returning a wrong answer', () => {
    const h = new Harness(sha256);
    const root = h.apply(EMPTY_ROOT, [set('a', '1'), set('b', '2')]);
    const missing = new MemoryNodeStore();
    assert.throws(() => new SparseMerkleTree(sha256, missing).prove(root, utf8('a')), /missing/);
    assert.throws(
      () => new SparseMerkleTree(sha256, missing).update(root, [set('c', '3')]),
      /missing/,
    );
    const corrupt: NodeReader = { getNode: () => new Uint8Array(65).fill(7) };
    assert.throws(() => new SparseMerkleTree(sha256, corrupt).prove(root, utf8('a')), /corrupt/);
    const short: NodeReader = { getNode: () => new Uint8Array(10) };
    assert.throws(
      () => new SparseMerkleTree(sha256, short).getValueHash(root, utf8('a')),
      /corrupt/,
    );
  });

  it('does not alias buffers a reader may reuse', () => {
    const h = new Harness(sha256);
    const root = h.apply(
      EMPTY_ROOT,
      Array.from({ length: 20 }, (_, i) => set(`k${i}`, `v${i}`)),
    );
    // Mimics lmdb getBinaryFast: one buffer overwritten on every read.
    const shared = new Uint8Array(65);
    const reusing: NodeReader = {
      getNode: (k) => {
        const n = h.store.getNode(k);
        if (!n) return undefined;
        shared.set(n);
        return shared;
      },
    };
    const tree = new SparseMerkleTree(sha256, reusing);
    const proof = tree.prove(root, utf8('k3'));
    assert.ok(verifyProof(sha256, root, utf8('k3'), utf8('v3'), proof));
    const res = tree.update(root, [set('k3', 'changed'), del('k4')]);
    const expected = new Map(
      Array.from({ length: 20 }, (_, i) => [hex(utf8(`k${i}`)), utf8(`v${i}`)]),
    );
    expected.set(hex(utf8('k3')), utf8('changed'));
    expected.delete(hex(utf8('k4')));
    assert.equal(hex(res.root), hex(referenceRoot(sha256, expected)));
  });
});
