import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  proofFromJson,
  proofToJson,
  type StateProof,
  type StateProofJson,
  verifyProof,
} from '../../src/state/proof.ts';
import { EMPTY_ROOT, type TreeChange } from '../../src/state/smt.ts';
import { HASHES, Harness, hex, Rng, sha256, utf8 } from './helpers.ts';

const clone = (p: StateProof): StateProof => ({
  siblings: p.siblings.map((s) => Uint8Array.from(s)),
  ...(p.leaf && {
    leaf: { path: Uint8Array.from(p.leaf.path), valueHash: Uint8Array.from(p.leaf.valueHash) },
  }),
});

/** Every tampered variant of a proof that a verifier must reject. */
function tamperings(
  p: StateProof,
  rng: Rng,
  otherLeaf: StateProof['leaf'],
): Array<[string, StateProof]> {
  const out: Array<[string, StateProof]> = [];
  p.siblings.forEach((_, i) => {
    const q = clone(p);
    q.siblings[i][rng.int(32)] ^= 1 << rng.int(8);
    out.push([`flipped sibling ${i}`, q]);
  });
  if (p.siblings.length > 0) {
    out.push(['removed first sibling', { ...clone(p), siblings: p.siblings.slice(1) }]);
    out.push(['removed last sibling', { ...clone(p), siblings: p.siblings.slice(0, -1) }]);
    const swapped = clone(p);
    swapped.siblings.reverse();
    if (p.siblings.length > 1) out.push(['reordered siblings', swapped]);
  }
  out.push(['extra empty sibling', { ...clone(p), siblings: [...p.siblings, new Uint8Array(32)] }]);
  out.push(['extra random sibling', { ...clone(p), siblings: [...p.siblings, rng.bytes(32)] }]);
  out.push(['prepended sibling', { ...clone(p), siblings: [rng.bytes(32), ...p.siblings] }]);
  if (p.leaf) {
    const q = clone(p);
    q.leaf!.valueHash[0] ^= 0x80;
    out.push(['flipped leaf value hash', q]);
    const r = clone(p);
    r.leaf!.path[31] ^= 1;
    out.push(['flipped leaf path', r]);
    out.push(['dropped leaf', { siblings: clone(p).siblings }]);
  } else {
    out.push([
      'invented leaf',
      { ...clone(p), leaf: { path: rng.bytes(32), valueHash: rng.bytes(32) } },
    ]);
  }
  if (otherLeaf && !(p.leaf && hex(p.leaf.path) === hex(otherLeaf.path))) {
    out.push(['swapped leaf', { ...clone(p), leaf: otherLeaf }]);
  }
  return out;
}

for (const [name, hash] of HASHES) {
  describe(`state proofs (${name})`, () => {
    const h = new Harness(hash);
    const present = Array.from({ length: 200 }, (_, i) => `acct/${i}`);
    const absent = Array.from({ length: 200 }, (_, i) => `missing/${i}`);
    const root = h.apply(
      EMPTY_ROOT,
      present.map((k) => ({ key: utf8(k), value: utf8(`bal:${k}`) })),
    );

    it('membership proofs verify, and only for the right value', () => {
      for (const k of present) {
        const proof = h.tree.prove(root, utf8(k));
        assert.ok(proof.leaf, k);
        assert.ok(verifyProof(hash, root, utf8(k), utf8(`bal:${k}`), proof), k);
        assert.equal(verifyProof(hash, root, utf8(k), utf8(`bal:${k}!`), proof), false);
        assert.equal(verifyProof(hash, root, utf8(k), null, proof), false);
        assert.equal(verifyProof(hash, root, utf8(`${k}x`), utf8(`bal:${k}`), proof), false);
      }
    });

    it('non-membership proofs verify, ending in another leaf or in an empty subtree', () => {
      let endsInLeaf = 0;
      let endsEmpty = 0;
      for (const k of absent) {
        const proof = h.tree.prove(root, utf8(k));
        if (proof.leaf) endsInLeaf++;
        else endsEmpty++;
        assert.ok(verifyProof(hash, root, utf8(k), null, proof), k);
        assert.equal(verifyProof(hash, root, utf8(k), utf8('anything'), proof), false);
        assert.equal(verifyProof(hash, root, utf8(k), new Uint8Array(0), proof), false);
      }
      assert.ok(endsInLeaf > 0 && endsEmpty > 0, `${endsInLeaf} leaf-ended, ${endsEmpty} empty`);
    });

    it('rejects every tampered proof', () => {
      const rng = new Rng(99);
      const otherLeaf = h.tree.prove(root, utf8(present[7])).leaf;
      const cases: Array<[string, Uint8Array | null]> = [
        ...present.slice(0, 30).map((k): [string, Uint8Array | null] => [k, utf8(`bal:${k}`)]),
        ...absent.slice(0, 30).map((k): [string, Uint8Array | null] => [k, null]),
      ];
      let checked = 0;
      for (const [k, value] of cases) {
        const proof = h.tree.prove(root, utf8(k));
        assert.ok(verifyProof(hash, root, utf8(k), value, proof));
        for (const [what, bad] of tamperings(proof, rng, otherLeaf)) {
          assert.equal(verifyProof(hash, root, utf8(k), value, bad), false, `${k}: ${what}`);
          checked++;
        }
      }
      assert.ok(checked > 300);
    });

    it('a proof holds only for its own root and key', () => {
      const k = utf8(present[3]);
      const proof = h.tree.prove(root, k);
      const next = h.apply(root, [{ key: k, value: utf8('changed') }]);
      const nextProof = h.tree.prove(next, k);
      assert.ok(verifyProof(hash, next, k, utf8('changed'), nextProof));
      assert.equal(verifyProof(hash, next, k, utf8(`bal:${present[3]}`), proof), false);
      assert.equal(verifyProof(hash, root, k, utf8('changed'), nextProof), false);
      // Another key's valid proof says nothing about this key.
      const otherProof = h.tree.prove(root, utf8(present[4]));
      assert.equal(verifyProof(hash, root, k, utf8(`bal:${present[3]}`), otherProof), false);
      assert.equal(verifyProof(hash, root, k, null, otherProof), false);
      assert.equal(verifyProof(hash, EMPTY_ROOT, k, null, proof), false);
    });

    it('the empty tree proves absence with no siblings, and nothing else', () => {
      const p = h.tree.prove(EMPTY_ROOT, utf8('x'));
      assert.deepEqual(p, { siblings: [] });
      assert.ok(verifyProof(hash, EMPTY_ROOT, utf8('x'), null, p));
      assert.equal(verifyProof(hash, EMPTY_ROOT, utf8('x'), utf8('v'), p), false);
      assert.equal(verifyProof(hash, root, utf8('x'), null, p), false);
    });

    it('historical roots stay provable after later updates', () => {
      const rng = new Rng(name === 'sha256' ? 1 : 2);
      const hist = new Harness(hash);
      const keys = Array.from({ length: 120 }, (_, i) => `h/${i}`);
      const model = new Map<string, string>();
      const versions: Array<{ root: Uint8Array; snapshot: Map<string, string> }> = [];
      let r = EMPTY_ROOT;
      for (let v = 0; v < 25; v++) {
        const batch: TreeChange[] = [];
        for (let i = 0; i < 15; i++) {
          const k = keys[rng.int(keys.length)];
          if (rng.int(4) === 0) {
            model.delete(k);
            batch.push({ key: utf8(k), value: null });
          } else {
            const val = `v${v}.${i}`;
            model.set(k, val);
            batch.push({ key: utf8(k), value: utf8(val) });
          }
        }
        r = hist.apply(r, batch);
        versions.push({ root: r, snapshot: new Map(model) });
      }
      for (const { root: old, snapshot } of versions) {
        for (const k of keys) {
          const want = snapshot.get(k);
          const value = want === undefined ? null : utf8(want);
          assert.ok(verifyProof(hash, old, utf8(k), value, hist.tree.prove(old, utf8(k))));
          const got = hist.tree.getValueHash(old, utf8(k));
          assert.equal(got && hex(got), value ? hex(hash(value)) : undefined);
        }
      }
    });

    it('JSON round trip keeps proofs valid', () => {
      for (const k of [present[0], absent[0], absent[1], absent[2]]) {
        const proof = h.tree.prove(root, utf8(k));
        const json = proofToJson(proof);
        const back = proofFromJson(JSON.parse(JSON.stringify(json)));
        assert.deepEqual(proofToJson(back), json);
        const value = k.startsWith('acct') ? utf8(`bal:${k}`) : null;
        assert.ok(verifyProof(hash, root, utf8(k), value, back));
        for (const s of json.siblings) assert.match(s, /^[0-9a-f]{64}$/);
      }
    });
  });
}

describe('proofFromJson', () => {
  const h64 = 'ab'.repeat(32);
  const good: StateProofJson = { siblings: [h64, h64], leaf: { path: h64, valueHash: h64 } };

  it('accepts well-formed proofs, with or without a leaf', () => {
    assert.equal(proofFromJson(good).siblings.length, 2);
    assert.equal(proofFromJson({ siblings: [] }).leaf, undefined);
    assert.equal(proofFromJson({ siblings: ['AB'.repeat(32)] }).siblings[0][0], 0xab);
  });

  it('throws Error on malformed input', () => {
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'proof',
      [],
      {},
      { siblings: 'x' },
      { siblings: {} },
      { siblings: [1] },
      { siblings: [null] },
      { siblings: ['ab'] },
      { siblings: [`${h64}00`] },
      { siblings: ['zz'.repeat(32)] },
      { siblings: [`0x${'ab'.repeat(31)}`] },
      { siblings: [` ${h64.slice(1)}`] },
      { siblings: Array(257).fill(h64) },
      { siblings: [], leaf: null },
      { siblings: [], leaf: 'x' },
      { siblings: [], leaf: [] },
      { siblings: [], leaf: {} },
      { siblings: [], leaf: { path: h64 } },
      { siblings: [], leaf: { valueHash: h64 } },
      { siblings: [], leaf: { path: h64, valueHash: 'xy'.repeat(32) } },
      { siblings: [], leaf: { path: 5, valueHash: h64 } },
      { siblings: [], leaf: { path: h64, valueHash: h64, extra: 1 } },
      { siblings: [], bitmap: '00' },
    ];
    for (const j of bad) {
      assert.throws(() => proofFromJson(j), Error, JSON.stringify(j)?.slice(0, 80));
    }
  });
});

describe('verifyProof on garbage', () => {
  it('returns false and never throws', () => {
    const rng = new Rng(0xbad);
    const junkValue = (depth: number): unknown => {
      switch (rng.int(depth > 2 ? 9 : 11)) {
        case 0:
          return null;
        case 1:
          return undefined;
        case 2:
          return rng.int(1000) - 500;
        case 3:
          return 'ab'.repeat(rng.int(40));
        case 4:
          return rng.bytes(32);
        case 5:
          return rng.bytes(rng.int(70));
        case 6:
          return new Uint8Array(32);
        case 7:
          return true;
        case 8:
          return Symbol('x');
        case 9:
          return Array.from({ length: rng.int(300) }, () => junkValue(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (const k of ['siblings', 'leaf', 'path', 'valueHash']) {
            if (rng.int(2)) o[k] = junkValue(depth + 1);
          }
          return o;
        }
      }
    };
    const root = rng.bytes(32);
    const hashes = [
      sha256,
      HASHES[1][1],
      () => new Uint8Array(3),
      () => {
        throw new Error('boom');
      },
    ];
    for (let i = 0; i < 5000; i++) {
      const proof =
        i % 3 === 0
          ? { siblings: Array.from({ length: rng.int(6) }, () => junkValue(2)), leaf: junkValue(2) }
          : junkValue(0);
      const args: unknown[] = [
        hashes[rng.int(hashes.length)],
        rng.int(8) ? root : junkValue(0),
        rng.int(8) ? rng.bytes(8) : junkValue(0),
        rng.int(2) ? null : rng.int(4) ? rng.bytes(4) : junkValue(0),
        proof,
      ];
      const call = verifyProof as (...a: unknown[]) => boolean;
      assert.equal(call(...args), false);
    }
  });

  it('rejects a proof whose sibling arrays are Uint8Array-like but wrong', () => {
    const h = new Harness(sha256);
    const root = h.apply(EMPTY_ROOT, [
      { key: utf8('a'), value: utf8('1') },
      { key: utf8('b'), value: utf8('2') },
    ]);
    const p = h.tree.prove(root, utf8('a'));
    const asArrays = {
      ...p,
      siblings: p.siblings.map((s) => Array.from(s)),
    } as unknown as StateProof;
    assert.equal(verifyProof(sha256, root, utf8('a'), utf8('1'), asArrays), false);
    assert.ok(verifyProof(sha256, root, utf8('a'), utf8('1'), p));
  });
});
