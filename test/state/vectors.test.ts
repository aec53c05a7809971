import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { proofFromJson, proofToJson, verifyProof } from '../../src/state/proof.ts';
import { EMPTY_ROOT, type TreeChange } from '../../src/state/smt.ts';
import { HASHES, Harness, hex, referenceRoot } from './helpers.ts';

interface Vectors {
  pairs: Array<{ key: string; value: string }>;
  deleteKeys: string[];
  cases: Record<
    string,
    {
      singleRoot: string;
      root: string;
      rootAfterDelete: string;
      proofs: Array<{ key: string; value: string | null; proof: unknown }>;
    }
  >;
}

// Frozen by test/state/gen-vectors.ts: a failure here means hashing or encoding changed.
const vectors: Vectors = JSON.parse(
  readFileSync(new URL('../vectors/state/smt-vectors.json', import.meta.url), 'utf8'),
);
const bytes = (h: string) => Buffer.from(h, 'hex');
const sets = (ps: Vectors['pairs']): TreeChange[] =>
  ps.map((p) => ({ key: bytes(p.key), value: bytes(p.value) }));

for (const [name, hash] of HASHES) {
  describe(`frozen state tree vectors (${name})`, () => {
    const c = vectors.cases[name];
    const h = new Harness(hash);
    const root = h.apply(EMPTY_ROOT, sets(vectors.pairs));

    it('has the vector file entries for this hash', () => {
      assert.ok(c, `no vectors for ${name}`);
      assert.ok(vectors.pairs.length > 50 && c.proofs.length === 3);
    });

    it('reproduces the frozen roots', () => {
      assert.equal(hex(h.apply(EMPTY_ROOT, sets(vectors.pairs.slice(0, 1)))), c.singleRoot);
      assert.equal(hex(root), c.root);
      const after = h.apply(
        root,
        vectors.deleteKeys.map((k) => ({ key: bytes(k), value: null })),
      );
      assert.equal(hex(after), c.rootAfterDelete);
    });

    it('the independent reference agrees with the frozen roots', () => {
      const all = new Map(vectors.pairs.map((p) => [p.key, bytes(p.value)]));
      assert.equal(hex(referenceRoot(hash, all)), c.root);
      for (const k of vectors.deleteKeys) all.delete(k);
      assert.equal(hex(referenceRoot(hash, all)), c.rootAfterDelete);
    });

    it('reproduces and verifies the frozen proofs', () => {
      for (const v of c.proofs) {
        const proof = proofFromJson(v.proof);
        const value = v.value === null ? null : bytes(v.value);
        assert.ok(verifyProof(hash, bytes(c.root), bytes(v.key), value, proof), v.key);
        assert.deepEqual(proofToJson(h.tree.prove(root, bytes(v.key))), v.proof);
      }
    });
  });
}
