/** Mempool bookkeeping: order, bounds, duplicates, removal. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mempool } from '../../src/mempool/mempool.ts';
import type { DecodedTx } from '../../src/types/tx.ts';

const tx = (id: number, size = 100): DecodedTx =>
  ({ txIdHex: id.toString(16).padStart(64, '0'), bytes: new Uint8Array(size) }) as DecodedTx;

test('reaps in arrival order within count and byte limits', () => {
  const pool = new Mempool({ maxTxs: 10, maxBytes: 10_000 });
  for (let i = 0; i < 5; i++) pool.add(tx(i));
  assert.deepEqual(
    pool.reap(3, 10_000).map((t) => t.txIdHex),
    [0, 1, 2].map((i) => tx(i).txIdHex),
  );
  assert.equal(pool.reap(10, 250).length, 2);
  assert.equal(pool.size, 5, 'reap leaves txs in the pool');
});

test('refuses duplicates and a full pool with clear codes, and frees space on removal', () => {
  const pool = new Mempool({ maxTxs: 2, maxBytes: 1000 });
  pool.add(tx(1));
  assert.throws(() => pool.add(tx(1)), { code: 'TX_DUPLICATE' });
  pool.add(tx(2));
  assert.throws(() => pool.add(tx(3)), { code: 'MEMPOOL_FULL', message: /pool full/ });
  pool.remove([tx(1).txIdHex]);
  pool.add(tx(3));
  assert.equal(pool.size, 2);
  assert.equal(pool.sizeBytes, 200);
  const bytesPool = new Mempool({ maxTxs: 100, maxBytes: 250 });
  bytesPool.add(tx(1));
  bytesPool.add(tx(2));
  assert.throws(() => bytesPool.add(tx(3)), { code: 'MEMPOOL_FULL' });
});

test('finds a pending tx by its exact bytes, not by bytes that only end the same', () => {
  const pool = new Mempool();
  const withBytes = (id: number, bytes: number[]): DecodedTx =>
    ({ ...tx(id), bytes: Uint8Array.from(bytes) }) as DecodedTx;
  const a = withBytes(1, [1, 2, 3, ...Array(16).fill(7)]);
  const b = withBytes(2, [9, 9, ...Array(16).fill(8)]);
  pool.add(a);
  pool.add(b);
  assert.equal(pool.findByBytes(Uint8Array.from(a.bytes)), a);
  assert.equal(pool.findByBytes(Uint8Array.from(b.bytes)), b);
  // The same last 16 bytes as a, another start: not a.
  assert.equal(pool.findByBytes(Uint8Array.from([4, 5, 6, ...Array(16).fill(7)])), undefined);
  pool.remove([a.txIdHex]);
  assert.equal(pool.findByBytes(Uint8Array.from(a.bytes)), undefined);
  assert.equal(pool.findByBytes(Uint8Array.from(b.bytes)), b);
});
