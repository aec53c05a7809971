/** The per-block state overlay: tx rollback, merged ranges, sorted changes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateOverlay } from '../../src/state/overlay.ts';

const b = (s: string) => new TextEncoder().encode(s);
const base = new Map([
  ['c/a', b('1')],
  ['c/b', b('2')],
  ['d/x', b('3')],
]);
const reader = {
  get: (k: string) => base.get(k),
  range: (p: string, limit: number) =>
    [...base.entries()]
      .filter(([k]) => k.startsWith(p))
      .sort()
      .slice(0, limit) as Array<[string, Uint8Array]>,
};

test('rolled back tx writes vanish; committed ones stay', () => {
  const o = new StateOverlay(reader);
  o.set('c/z', b('9'));
  o.rollbackTx();
  assert.equal(o.get('c/z'), undefined);
  o.set('c/z', b('9'));
  o.delete('c/a');
  o.commitTx();
  assert.deepEqual(o.get('c/z'), b('9'));
  assert.equal(o.get('c/a'), undefined);
  assert.deepEqual(
    o.changes().map(([k, v]) => [k, v && new TextDecoder().decode(v)]),
    [
      ['c/a', null],
      ['c/z', '9'],
    ],
  );
});

test('range merges pending writes and deletes in key order', () => {
  const o = new StateOverlay(reader);
  o.delete('c/a');
  o.set('c/c', b('7'));
  assert.deepEqual(
    o.range('c/', 10).map(([k]) => k),
    ['c/b', 'c/c'],
  );
  assert.deepEqual(
    o.range('c/', 1).map(([k]) => k),
    ['c/b'],
  );
});
