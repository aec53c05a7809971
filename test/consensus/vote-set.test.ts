import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Vote } from '../../src/consensus/tbft/types.ts';
import {
  isOneThird,
  isTwoThirds,
  MAX_VALUES_PER_VOTER,
  type PowerTable,
  VoteSet,
} from '../../src/consensus/tbft/vote-set.ts';

const table = (powers: Record<string, number>): PowerTable => ({
  powers: new Map(Object.entries(powers)),
  total: Object.values(powers).reduce((a, b) => a + b, 0),
});

const pv = (validator: string, blockHash: string | null, round = 0): Vote => ({
  kind: 'prevote',
  height: 5,
  round,
  blockHash,
  validator,
});

describe('thresholds', () => {
  test('+2/3 is strictly more than two thirds; f+1 strictly more than one third', () => {
    assert.equal(isTwoThirds(2, 3), false);
    assert.equal(isTwoThirds(3, 4), true);
    assert.equal(isTwoThirds(6, 9), false);
    assert.equal(isTwoThirds(7, 9), true);
    assert.equal(isOneThird(1, 3), false);
    assert.equal(isOneThird(2, 4), true);
    assert.equal(isOneThird(1, 4), false);
    assert.equal(isOneThird(3, 9), false);
    assert.equal(isOneThird(4, 9), true);
  });
});

describe('VoteSet', () => {
  test('weighted tallies, each validator once', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1, b: 2, c: 3, d: 3 }));
    assert.equal(set.add(pv('c', 'x')).status, 'added');
    assert.equal(set.add(pv('d', 'x')).status, 'added');
    assert.equal(set.powerFor('x'), 6);
    assert.equal(set.hasTwoThirdsFor('x'), false, '6 of 9 is exactly 2/3, not more');
    assert.equal(set.twoThirdsMajority(), undefined);
    assert.equal(set.add(pv('d', 'x')).status, 'duplicate');
    assert.equal(set.powerFor('x'), 6);
    assert.equal(set.add(pv('a', null)).status, 'added');
    assert.equal(set.power, 7);
    assert.equal(set.hasTwoThirdsAny(), true);
    assert.equal(set.hasTwoThirdsFor(null), false);
    assert.equal(set.add(pv('b', 'x')).status, 'added');
    assert.equal(set.twoThirdsMajority(), 'x');
    assert.deepEqual(
      set.votesFor('x').map((v) => v.validator),
      ['b', 'c', 'd'],
    );
    assert.equal(set.size, 4);
  });

  test('nil majority', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1, b: 1, c: 1, d: 1 }));
    for (const v of ['a', 'b', 'c']) set.add(pv(v, null));
    assert.equal(set.twoThirdsMajority(), null);
    assert.equal(set.hasTwoThirdsFor(null), true);
  });

  test('rejects non-validators and votes of other slots', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1 }));
    assert.equal(set.add(pv('zz', 'x')).status, 'rejected');
    assert.equal(set.add(pv('a', 'x', 1)).status, 'rejected');
    assert.equal(set.add({ ...pv('a', 'x'), kind: 'precommit' }).status, 'rejected');
    assert.equal(set.add({ ...pv('a', 'x'), height: 6 }).status, 'rejected');
    assert.equal(set.power, 0);
  });

  test('equivocation: reported, counted once in the total, per block for each block', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1, b: 1, c: 1, d: 1 }));
    set.add(pv('a', 'x'));
    const r = set.add(pv('a', 'y'));
    assert.equal(r.status, 'conflict');
    assert.ok(r.status === 'conflict' && r.counted && r.existing.blockHash === 'x');
    assert.equal(set.power, 1);
    assert.equal(set.size, 1);
    assert.equal(set.powerFor('x'), 1);
    assert.equal(set.powerFor('y'), 1);
    assert.equal(set.get('a')?.blockHash, 'x', 'the first vote stays the validator vote');
    assert.equal(set.add(pv('a', 'y')).status, 'duplicate');
    // Two correct validators plus the equivocator make a polka for either block it voted for.
    set.add(pv('b', 'y'));
    set.add(pv('c', 'y'));
    assert.equal(set.twoThirdsMajority(), 'y');
  });

  test('an equivocator is counted for at most MAX_VALUES_PER_VOTER blocks', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1, b: 1 }));
    for (let i = 0; i < MAX_VALUES_PER_VOTER + 3; i++) {
      const r = set.add(pv('a', `h${i}`));
      if (i === 0) assert.equal(r.status, 'added');
      else assert.ok(r.status === 'conflict' && r.counted === i < MAX_VALUES_PER_VOTER);
    }
    assert.equal(set.powerFor(`h${MAX_VALUES_PER_VOTER - 1}`), 1);
    assert.equal(set.powerFor(`h${MAX_VALUES_PER_VOTER}`), 0);
  });

  test('stored votes are copies', () => {
    const set = new VoteSet(5, 0, 'prevote', table({ a: 1 }));
    const v = pv('a', 'x');
    set.add(v);
    v.blockHash = 'y';
    assert.equal(set.get('a')?.blockHash, 'x');
    const out = set.votesFor('x');
    out[0].blockHash = 'z';
    assert.equal(set.votesFor('x')[0].blockHash, 'x');
  });
});
