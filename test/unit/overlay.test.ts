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

const text = (v: Uint8Array | undefined) =>
  v === undefined ? undefined : new TextDecoder().decode(v);

test('a rolled back savepoint drops only its own writes and deletes', () => {
  const o = new StateOverlay(reader);
  o.set('c/a', b('tx'));
  o.set('c/n', b('tx'));
  o.savepoint();
  o.set('c/a', b('sp'));
  o.delete('c/b');
  o.delete('c/n');
  o.set('c/new', b('sp'));
  o.set('c/new', b('sp2'));
  assert.equal(text(o.get('c/a')), 'sp');
  assert.equal(o.get('c/b'), undefined);
  assert.deepEqual(
    o.range('c/', 10).map(([k]) => k),
    ['c/a', 'c/new'],
  );
  o.rollbackSavepoint();
  assert.equal(o.savepointDepth, 0);
  assert.equal(text(o.get('c/a')), 'tx');
  assert.equal(text(o.get('c/b')), '2');
  assert.equal(text(o.get('c/n')), 'tx');
  assert.equal(o.get('c/new'), undefined);
  assert.deepEqual(
    o.range('c/', 10).map(([k]) => k),
    ['c/a', 'c/b', 'c/n'],
  );
  o.commitTx();
  assert.deepEqual(
    o.changes().map(([k, v]) => [k, v && text(v)]),
    [
      ['c/a', 'tx'],
      ['c/n', 'tx'],
    ],
  );
});

test('nested savepoints: an inner release hands its writes to the outer one', () => {
  const o = new StateOverlay(reader);
  o.savepoint();
  o.set('c/x', b('outer'));
  o.savepoint();
  o.set('c/x', b('inner'));
  o.set('c/y', b('inner'));
  o.releaseSavepoint();
  assert.equal(o.savepointDepth, 1);
  assert.equal(text(o.get('c/x')), 'inner');
  // Rolling back the outer one undoes the released inner writes too, to the state before it.
  o.rollbackSavepoint();
  assert.equal(o.get('c/x'), undefined);
  assert.equal(o.get('c/y'), undefined);

  o.savepoint();
  o.set('c/x', b('outer'));
  o.savepoint();
  o.set('c/x', b('inner'));
  o.delete('c/a');
  o.rollbackSavepoint();
  assert.equal(text(o.get('c/x')), 'outer');
  assert.equal(text(o.get('c/a')), '1');
  o.releaseSavepoint();
  o.commitTx();
  assert.deepEqual(
    o.changes().map(([k, v]) => [k, v && text(v)]),
    [['c/x', 'outer']],
  );
});

test('savepoints: keeping a tx with one open, or closing one never opened, is a bug', () => {
  const o = new StateOverlay(reader);
  assert.throws(() => o.releaseSavepoint(), { code: 'INTERNAL' });
  assert.throws(() => o.rollbackSavepoint(), { code: 'INTERNAL' });
  o.savepoint();
  o.set('c/z', b('9'));
  assert.throws(() => o.commitTx(), { code: 'INTERNAL' });
  // A failed tx drops its open savepoints with its writes.
  o.rollbackTx();
  assert.equal(o.savepointDepth, 0);
  assert.equal(o.get('c/z'), undefined);
  o.set('c/z', b('9'));
  o.commitTx();
  assert.equal(text(o.get('c/z')), '9');
});

test('rollbackToMark restores the block layer exactly: rewritten, deleted and new keys', () => {
  const o = new StateOverlay(reader);
  o.set('c/a', b('tx1'));
  o.set('c/n', b('tx1'));
  o.commitTx();
  const before = o.changes();
  o.mark();
  // The left-out tx: a key the block wrote, a committed key deleted, a new key, and a second
  // kept tx of its own (a savepoint released inside), all taken back together.
  o.set('c/a', b('tx2'));
  o.delete('c/b');
  o.set('c/new', b('tx2'));
  o.commitTx();
  o.savepoint();
  o.set('c/n', b('tx3'));
  o.releaseSavepoint();
  o.commitTx();
  o.set('c/pending', b('tx4'));
  o.rollbackToMark();
  assert.deepEqual(o.changes(), before);
  assert.equal(text(o.get('c/a')), 'tx1');
  assert.equal(text(o.get('c/b')), '2');
  assert.equal(o.get('c/new'), undefined);
  assert.equal(o.get('c/pending'), undefined);
  assert.deepEqual(
    o.range('c/', 10).map(([k]) => k),
    ['c/a', 'c/b', 'c/n'],
  );
  assert.throws(() => o.rollbackToMark(), { code: 'INTERNAL' }, 'a mark is used once');
  // Writes kept after the mark is used up stay.
  o.set('c/z', b('9'));
  o.commitTx();
  assert.equal(text(o.get('c/z')), '9');
});
