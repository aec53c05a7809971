/**
 * Writes test/vectors/state/smt-vectors.json. Run once and check the result in; rerun only
 * for a deliberate, versioned change of tree hashing or encoding, since every root changes.
 *   node --import tsx test/state/gen-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { proofToJson } from '../../src/state/proof.ts';
import { EMPTY_ROOT, type TreeChange } from '../../src/state/smt.ts';
import { HASHES, Harness, hex, utf8 } from './helpers.ts';

const pairs: Array<{ key: string; value: string }> = [];
for (let i = 0; i < 60; i++) {
  pairs.push({ key: hex(utf8(`bank/balance/user${i}`)), value: hex(utf8(String(1000 + i * 37))) });
}
pairs.push({ key: hex(utf8('config/empty-value')), value: '' });
pairs.push({ key: '', value: hex(utf8('the empty key')) });
pairs.push({ key: '00ff10ee', value: '0102030405060708090a0b0c0d0e0f' });
pairs.push({ key: hex(utf8('bank/total')), value: hex(utf8('62220')) });
const deleteKeys = pairs.filter((_, i) => i % 3 === 0).map((p) => p.key);

const toChanges = (ps: typeof pairs): TreeChange[] =>
  ps.map((p) => ({ key: Buffer.from(p.key, 'hex'), value: Buffer.from(p.value, 'hex') }));

const cases: Record<string, unknown> = {};
for (const [name, hash] of HASHES) {
  const h = new Harness(hash);
  const single = h.apply(EMPTY_ROOT, toChanges(pairs.slice(0, 1)));
  const root = h.apply(EMPTY_ROOT, toChanges(pairs));
  const afterDelete = h.apply(
    root,
    deleteKeys.map((k) => ({ key: Buffer.from(k, 'hex'), value: null })),
  );
  // One proof of each shape: membership, absence ending in a leaf, absence ending empty.
  const proofs = [{ key: pairs[5].key, value: pairs[5].value as string | null }];
  let leafEnded = false;
  let emptyEnded = false;
  for (let i = 0; !(leafEnded && emptyEnded); i++) {
    const key = hex(utf8(`absent/${i}`));
    const shape = h.tree.prove(root, Buffer.from(key, 'hex')).leaf ? 'leaf' : 'empty';
    if (shape === 'leaf' && !leafEnded) {
      leafEnded = true;
      proofs.push({ key, value: null });
    } else if (shape === 'empty' && !emptyEnded) {
      emptyEnded = true;
      proofs.push({ key, value: null });
    }
  }
  cases[name] = {
    singleRoot: hex(single),
    root: hex(root),
    rootAfterDelete: hex(afterDelete),
    proofs: proofs.map((p) => ({
      ...p,
      proof: proofToJson(h.tree.prove(root, Buffer.from(p.key, 'hex'))),
    })),
  };
}

const out = {
  description:
    'Frozen state tree vectors. path = H(key); leaf = H(0x00 || path || H(value)); ' +
    'internal = H(0x01 || left || right); empty subtree = 32 zero bytes. singleRoot holds ' +
    'pairs[0] only; root holds all pairs; rootAfterDelete is root minus deleteKeys; proofs ' +
    'are against root. Keys and values are hex.',
  pairs,
  deleteKeys,
  cases,
};
const file = new URL('../vectors/state/smt-vectors.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
