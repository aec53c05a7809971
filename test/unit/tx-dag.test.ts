/** The tx dependency graph: which conflicts make edges, and its one wire encoding. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeGraph, dependencyGraph, encodeGraph, graphMismatch } from '../../src/app/tx-dag.ts';
import { create, encode, TxDagSchema } from '../../src/codec/index.ts';
import type { TxAccess } from '../../src/state/overlay.ts';

const tx = (a: Partial<TxAccess>): TxAccess => ({ reads: [], ranges: [], writes: [], ...a });

test('independent txs have no edges; each kind of conflict makes one', () => {
  const g = dependencyGraph([
    tx({ reads: ['t/a'], writes: ['t/a'] }), // 0
    tx({ reads: ['t/b'], writes: ['t/b'] }), // 1: independent of 0
    tx({ reads: ['t/a'] }), // 2: reads what 0 wrote
    tx({ writes: ['t/a'] }), // 3: writes what 0 wrote and 2 read
    tx({ reads: ['t/c'] }), // 4: nobody wrote c
    tx({ writes: ['t/c'] }), // 5: writes what 4 read
  ]);
  assert.deepEqual(g, [[], [], [0], [0, 2], [], [4]]);
});

test('a hot key gives a chain, not a clique', () => {
  const g = dependencyGraph(
    Array.from({ length: 6 }, () => tx({ reads: ['t/hot'], writes: ['t/hot'] })),
  );
  assert.deepEqual(g, [[], [0], [1], [2], [3], [4]]);
});

test('readers since the last write all precede the next writer, earlier ones through it', () => {
  const g = dependencyGraph([
    tx({ reads: ['k/x'] }), // 0
    tx({ writes: ['k/x'] }), // 1: after reader 0
    tx({ reads: ['k/x'] }), // 2: after writer 1
    tx({ reads: ['k/x'] }), // 3: after writer 1, not after reader 2
    tx({ writes: ['k/x'] }), // 4: after 1, 2 and 3; 0 is reached through 1
  ]);
  assert.deepEqual(g, [[], [0], [1], [1], [1, 2, 3]]);
});

test('a listed prefix conflicts with writes under it, before and after', () => {
  const g = dependencyGraph([
    tx({ writes: ['g/proposal/1'] }), // 0
    tx({ writes: ['g/other'] }), // 1
    tx({ ranges: ['g/proposal/'] }), // 2: lists what 0 wrote
    tx({ writes: ['g/proposal/2'] }), // 3: writes under what 2 listed
    tx({ writes: ['h/proposal/3'] }), // 4: another prefix
  ]);
  assert.deepEqual(g, [[], [], [0], [2], []]);
});

test('a failed tx (no writes) still orders by what it read', () => {
  const g = dependencyGraph([
    tx({ writes: ['t/a'] }),
    tx({ reads: ['t/a'], writes: [] }),
    tx({ writes: ['t/a'] }),
  ]);
  assert.deepEqual(g, [[], [0], [0, 1]]);
});

test('encoding round-trips and names the first difference', () => {
  const g = [[], [0], [], [0, 2], [1, 2, 3]];
  assert.deepEqual(decodeGraph(encodeGraph(g), g.length), g);
  assert.equal(graphMismatch(g, g), undefined);
  assert.match(graphMismatch(g, [[], [0], [], [2], [1, 2, 3]]) ?? '', /tx 3 depends on \[0, 2\]/);
  assert.match(graphMismatch(g, g.slice(1)) ?? '', /lists 4 txs/);
});

test('malformed graphs are refused with BLOCK_INVALID', () => {
  const raw = (counts: number[], distances: number[]) =>
    encode(TxDagSchema, create(TxDagSchema, { counts, distances }));
  const cases: Array<[string, Uint8Array, number, RegExp]> = [
    ['wrong tx count', raw([0, 0], []), 3, /2 entries for 3 txs/],
    ['a dependency on itself', raw([0, 1], [0]), 2, /not earlier/],
    ['a dependency on a later tx', raw([0, 1], [2]), 2, /lists|not earlier/],
    ['more dependencies than earlier txs', raw([0, 2], [1, 1]), 2, /lists 2 dependencies/],
    ['repeated dependency', raw([0, 0, 2], [1, 1]), 3, /out of order/],
    ['ascending distances', raw([0, 0, 2], [1, 2]), 3, /out of order/],
    ['trailing distances', raw([0, 1], [1, 1]), 2, /trailing/],
    ['not a message', new Uint8Array([0xff, 0xff, 0xff]), 1, /not a TxDag/],
  ];
  for (const [name, bytes, n, why] of cases) {
    assert.throws(
      () => decodeGraph(bytes, n),
      (e: Error & { code?: string }) => e.code === 'BLOCK_INVALID' && why.test(e.message),
      name,
    );
  }
});
