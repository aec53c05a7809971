/** Compact proposals: rebuilt from the pool, missing txs asked for, wrong answers ignored. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { BlockSchema, create, decode, encode } from '../../src/codec/index.ts';
import {
  answerTxsRequest,
  CompactBlocks,
  compactProposal,
} from '../../src/consensus/tbft/compact.ts';
import { hex } from '../../src/types/hex.ts';

const id = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const txs = Array.from({ length: 5 }, (_, i) => new TextEncoder().encode(`tx-${i}`));
const ids = txs.map(id);
const blockBytes = encode(
  BlockSchema,
  create(BlockSchema, {
    header: new Uint8Array([1, 2, 3]),
    txs,
    lastCommit: new Uint8Array([4]),
    dag: new Uint8Array([5]),
  }),
);
const signed = { body: new Uint8Array([9]), signature: new Uint8Array([8]) };
const proposal = compactProposal(signed, blockBytes, ids);

/** A pool holding the txs whose index is in `held`. */
function blocks(held: number[], maxTxs = 100): CompactBlocks {
  const pool = new Map(held.map((i) => [hex(ids[i]), txs[i]]));
  return new CompactBlocks(
    {
      pendingTxs: (want) => want.map((w) => pool.get(hex(w))),
      txIdOf: (b) => (b.length > 0 ? id(b) : undefined),
    },
    () => maxTxs,
  );
}

test('a compact proposal carries no tx, only their ids', () => {
  assert.equal(proposal.block.length, 0);
  assert.deepEqual(proposal.compact?.txIds, ids);
  assert.ok(encode(BlockSchema, create(BlockSchema, {})).length < blockBytes.length);
});

test('a pool holding every tx gives the whole block back at once', () => {
  const whole = blocks([0, 1, 2, 3, 4]).take(proposal, 'h', true);
  assert.ok(whole);
  assert.deepEqual(whole.block, blockBytes);
  assert.deepEqual(whole.body, signed.body);
  assert.equal(whole.compact, undefined);
});

test('missing txs are asked for; wrong answers are ignored; the right ones complete it', () => {
  const c = blocks([0, 2, 4]);
  assert.equal(c.take(proposal, 'aa', true), undefined);
  assert.deepEqual(c.request('aa')?.indexes, [1, 3]);
  // A tx that is not the one at that index, an index out of range, and no bytes at all.
  const wrong = c.fill({
    $typeName: 'archipelago.v1.BlockTxs',
    blockHash: new Uint8Array([0xaa]),
    indexes: [1, 9, 3],
    txs: [txs[3], txs[1]],
  });
  assert.equal(wrong, undefined);
  assert.deepEqual(c.request('aa')?.indexes, [1, 3]);
  const partial = c.fill({
    $typeName: 'archipelago.v1.BlockTxs',
    blockHash: new Uint8Array([0xaa]),
    indexes: [1],
    txs: [txs[1]],
  });
  assert.equal(partial, undefined);
  assert.deepEqual(c.request('aa')?.indexes, [3]);
  const done = c.fill({
    $typeName: 'archipelago.v1.BlockTxs',
    blockHash: new Uint8Array([0xaa]),
    indexes: [3],
    txs: [txs[3]],
  });
  assert.ok(done);
  assert.equal(done.log, true);
  assert.deepEqual(decode(BlockSchema, done.proposal.block).txs, txs);
  assert.equal(c.request('aa'), undefined, 'nothing left to ask');
  assert.deepEqual(c.requests(), []);
});

test('a compact block naming more txs than a block may carry is dropped', () => {
  const c = blocks([], 3);
  assert.equal(c.take(proposal, 'bb', true), undefined);
  assert.equal(c.request('bb'), undefined);
});

test('a new height forgets what was pending', () => {
  const c = blocks([]);
  c.take(proposal, 'cc', false);
  assert.equal(c.requests().length, 1);
  c.clear();
  assert.deepEqual(c.requests(), []);
});

test('answers carry the asked txs of a held block, bounded by it', () => {
  const req = {
    $typeName: 'archipelago.v1.BlockTxsRequest' as const,
    blockHash: new Uint8Array([1]),
    indexes: [4, 4, 0, 99],
  };
  const a = answerTxsRequest(req, txs);
  assert.deepEqual(a?.indexes, [4, 0]);
  assert.deepEqual(a?.txs, [txs[4], txs[0]]);
  assert.equal(answerTxsRequest(req, undefined), undefined, 'not held: no answer');
  assert.equal(answerTxsRequest({ ...req, indexes: [99] }, txs), undefined);
});
