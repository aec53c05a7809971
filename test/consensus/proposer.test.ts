import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  normalizeValidators,
  ProposerPriorities,
  proposer,
} from '../../src/consensus/tbft/proposer.ts';
import type { ValidatorSet } from '../../src/consensus/tbft/types.ts';
import { Prng } from '../sim/prng.ts';

function randomSet(prng: Prng, n: number, maxPower: number): ValidatorSet {
  const validators = Array.from({ length: n }, (_, i) => ({
    address: `${(i * 7919 + 13).toString(16).padStart(4, '0')}${i}`,
    power: prng.int(1, maxPower),
  }));
  return { validators: prng.shuffle(validators) };
}

describe('proposer rotation', () => {
  test("matches CometBFT's TestProposerSelection1 sequence", () => {
    const set = {
      validators: [
        { address: 'foo', power: 1000 },
        { address: 'bar', power: 300 },
        { address: 'baz', power: 330 },
      ],
    };
    // CometBFT: NewValidatorSet increments once, then GetProposer / IncrementProposerPriority(1).
    const expected =
      'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar ' +
      'foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar ' +
      'foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz ' +
      'foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo ' +
      'foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo';
    const got = Array.from({ length: 99 }, (_, i) => proposer(set, 0, i)).join(' ');
    assert.equal(got, expected);
    // Height and round are interchangeable steps along the same sequence.
    assert.equal(proposer(set, 40, 2), proposer(set, 0, 42));
  });

  test('equal powers: plain round robin in address order', () => {
    const set = {
      validators: ['cc', 'aa', 'dd', 'bb'].map((address) => ({ address, power: 10 })),
    };
    const seq = Array.from({ length: 8 }, (_, r) => proposer(set, 0, r));
    assert.deepEqual(seq, ['aa', 'bb', 'cc', 'dd', 'aa', 'bb', 'cc', 'dd']);
  });

  test('weighted frequency over many rounds equals voting power', () => {
    const prng = new Prng(99);
    for (let t = 0; t < 30; t++) {
      const set = randomSet(prng, prng.int(1, 9), prng.int(1, 40));
      const total = set.validators.reduce((s, v) => s + v.power, 0);
      const height = prng.int(0, 10_000);
      const counts = new Map<string, number>();
      for (let r = 0; r < 3 * total; r++) {
        const p = proposer(set, height, r);
        counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      for (const v of set.validators) assert.equal(counts.get(v.address) ?? 0, 3 * v.power);
    }
  });

  test('deterministic and independent of the order the set is given in', () => {
    const prng = new Prng(7);
    const set = randomSet(prng, 6, 20);
    const reversed = { validators: [...set.validators].reverse() };
    for (let h = 1; h < 50; h++) {
      for (let r = 0; r < 5; r++) {
        const a = proposer(set, h, r);
        assert.equal(proposer(reversed, h, r), a);
        assert.equal(proposer(structuredClone(set), h, r), a);
      }
    }
    // Asking out of order (cache warm or cold) gives the same answers.
    const big = {
      validators: [
        { address: 'aa', power: 5000 },
        { address: 'bb', power: 3001 },
      ],
    };
    const forward = Array.from({ length: 20 }, (_, i) => proposer(big, 9000 + i * 401, 3));
    const backward = Array.from({ length: 20 }, (_, i) => proposer(big, 9000 + (19 - i) * 401, 3));
    assert.deepEqual(forward, backward.reverse());
  });

  test('from zero, priorities are zero again after total-power steps (modulo is exact)', () => {
    const prng = new Prng(3);
    for (let t = 0; t < 200; t++) {
      const set = randomSet(prng, prng.int(1, 7), prng.int(1, 60));
      const pp = new ProposerPriorities(set);
      const seen = new Map<string, number>();
      for (let i = 0; i < pp.total; i++) {
        const p = pp.increment(1);
        seen.set(p, (seen.get(p) ?? 0) + 1);
        // Within CometBFT's window, so its rescaling never kicks in.
        assert.ok(Math.max(...pp.priorities) - Math.min(...pp.priorities) <= 2 * pp.total);
      }
      assert.ok(pp.priorities.every((x) => x === 0));
      for (const m of pp.members) assert.equal(seen.get(m.address), m.power);
    }
  });

  test('CometBFT centring and rescaling of arbitrary priorities', () => {
    const set = {
      validators: [
        { address: 'a', power: 1 },
        { address: 'b', power: 1 },
      ],
    };
    // Window is 2 * total = 4; diff 100 -> ratio ceil(100 / 4) = 25, Go truncates toward zero.
    const pp = new ProposerPriorities(set, [50, -50]);
    pp.increment(1);
    // [50, -50] / 25 = [2, -2]; average 0; +1 each = [3, -1]; a pays 2 -> [1, -1].
    assert.deepEqual(pp.priorities, [1, -1]);
    // Average is floored like big.Int division: [-3, 0] has sum -3 -> avg -2.
    const q = new ProposerPriorities(set, [-3, 0]);
    q.increment(1);
    // [-3, 0] - (-2) = [-1, 2]; +1 = [0, 3]; b pays 2 -> [0, 1].
    assert.deepEqual(q.priorities, [0, 1]);
  });

  test('rejects bad validator sets', () => {
    assert.throws(() => normalizeValidators({ validators: [] }));
    assert.throws(() => normalizeValidators({ validators: [{ address: 'a', power: 0 }] }));
    assert.throws(() => normalizeValidators({ validators: [{ address: 'a', power: 1.5 }] }));
    assert.throws(() =>
      normalizeValidators({
        validators: [
          { address: 'a', power: 1 },
          { address: 'a', power: 2 },
        ],
      }),
    );
    assert.throws(() => proposer({ validators: [{ address: 'a', power: 1 }] }, -1, 0));
  });
});
