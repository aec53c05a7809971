import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_CATCHUP_ROUNDS, TendermintMachine } from '../../src/consensus/tbft/state-machine.ts';
import type { Action, Input, Vote } from '../../src/consensus/tbft/types.ts';
import { Prng } from '../sim/prng.ts';
import { Cluster, TIMEOUTS } from '../sim/scripted.ts';

const timeoutsOf = (out: Action[]) =>
  out.flatMap((a) => (a.type === 'scheduleTimeout' ? [[a.step, a.round, a.durationMs]] : []));

describe('TendermintMachine', () => {
  test('start: the proposer asks for a block, everyone schedules timeoutPropose', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(7);
    const p = c.proposer(0);
    for (const a of c.addrs) {
      assert.equal(c.askedForBlock(a, 0), a === p);
      assert.ok(c.scheduled(a, 'propose', 0));
      assert.equal(c.m(a).height, 7);
      assert.equal(c.m(a).step, 'propose');
    }
    const out = c.input(p, { type: 'proposalBlock', height: 7, round: 0, blockHash: 'ab' });
    assert.deepEqual(
      out.map((a) => a.type),
      ['propose', 'vote'],
    );
    assert.deepEqual(c.proposalOf(p, 0), {
      height: 7,
      round: 0,
      blockHash: 'ab',
      polRound: -1,
      proposer: p,
    });
    // A second or stale block answer is ignored.
    assert.deepEqual(
      c.input(p, { type: 'proposalBlock', height: 7, round: 0, blockHash: 'cd' }),
      [],
    );
  });

  test('timeouts grow with the round', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const me = c.addrs.find((a) => a !== c.proposer(3)) as string;
    const [x, y] = c.addrs.filter((a) => a !== me);
    const skip = c.input(me, { type: 'vote', vote: c.vote(x, 'prevote', 3, null) });
    assert.deepEqual(skip, []);
    const out = c.input(me, { type: 'vote', vote: c.vote(y, 'prevote', 3, null) });
    assert.deepEqual(timeoutsOf(out), [['propose', 3, TIMEOUTS.proposeMs + 3 * TIMEOUTS.deltaMs]]);
    const afterPropose = c.timeout(me, 'propose', 3);
    assert.deepEqual(timeoutsOf(afterPropose), [
      ['prevote', 3, TIMEOUTS.voteMs + 3 * TIMEOUTS.deltaMs],
    ]);
    c.timeout(me, 'prevote', 3);
    const z = c.addrs.find((a) => ![me, x, y].includes(a)) as string;
    c.deliverVote(c.vote(x, 'precommit', 3, null), [me]);
    const pc = c.input(me, { type: 'vote', vote: c.vote(z, 'precommit', 3, null) });
    assert.deepEqual(timeoutsOf(pc), [['precommit', 3, TIMEOUTS.voteMs + 3 * TIMEOUTS.deltaMs]]);
    c.timeout(me, 'precommit', 3);
    assert.equal(c.m(me).round, 4);
  });

  test('ignores what does not count', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(2);
    const p0 = c.proposer(0);
    const me = c.addrs.find((a) => a !== p0) as string;
    const other = c.addrs.find((a) => a !== p0 && a !== me) as string;
    const none: Input[] = [
      { type: 'vote', vote: { ...c.vote(other, 'prevote', 0, 'aa'), validator: 'stranger' } },
      { type: 'vote', vote: { ...c.vote(other, 'prevote', 0, 'aa'), height: 3 } },
      { type: 'vote', vote: { ...c.vote(other, 'prevote', 0, 'aa'), round: -1 } },
      { type: 'vote', vote: { ...c.vote(other, 'prevote', 0, 'aa'), round: 1.5 } },
      {
        type: 'proposal',
        proposal: { height: 2, round: 0, blockHash: 'aa', polRound: -1, proposer: other },
        valid: true,
      },
      {
        type: 'proposal',
        proposal: { height: 2, round: 0, blockHash: 'aa', polRound: 0, proposer: p0 },
        valid: true,
      },
      {
        type: 'proposal',
        proposal: { height: 2, round: 2, blockHash: 'aa', polRound: -1, proposer: c.proposer(2) },
        valid: true,
      },
      { type: 'timeout', step: 'propose', height: 2, round: 1 },
      { type: 'timeout', step: 'prevote', height: 2, round: 0 },
      { type: 'timeout', step: 'propose', height: 1, round: 0 },
      { type: 'proposalBlock', height: 2, round: 0, blockHash: 'aa' },
    ];
    for (const input of none) assert.deepEqual(c.input(me, input), [], JSON.stringify(input));
    assert.equal(c.m(me).snapshot().prevotePower, 0);
    assert.deepEqual(c.m(me).snapshot().proposals, []);
  });

  test('decide carries the sorted precommits; nothing but start is handled afterwards', () => {
    const c = new Cluster([3, 1, 1, 2]);
    c.start(1);
    const p0 = c.proposer(0);
    c.input(p0, { type: 'proposalBlock', height: 1, round: 0, blockHash: 'b0' });
    const prop = c.proposalOf(p0, 0);
    assert.ok(prop);
    const me = c.addrs.find((a) => a !== p0) as string;
    c.deliverProposal(prop, [me]);
    // Power 7: +2/3 needs 5.
    const voters = ['a3', 'a1', 'a0'];
    for (const v of voters) c.deliverVote(c.vote(v, 'precommit', 0, 'b0'), [me]);
    const [d] = c.decisions(me);
    assert.ok(d);
    assert.deepEqual(
      d.precommits.map((v) => v.validator),
      [...voters].sort(),
    );
    assert.ok(c.m(me).hasDecided);
    assert.deepEqual(c.input(me, { type: 'vote', vote: c.vote('a2', 'precommit', 0, 'b0') }), []);
    assert.deepEqual(c.input(me, { type: 'timeout', step: 'precommit', height: 1, round: 0 }), []);
    c.input(me, { type: 'start', height: 2, validators: c.set });
    assert.equal(c.m(me).height, 2);
    assert.equal(c.m(me).round, 0);
    assert.equal(c.m(me).lockedRound, -1);
    assert.equal(c.m(me).validValue, null);
    assert.ok(!c.m(me).hasDecided);
  });

  test('a non-validator follows and decides but never votes or proposes', () => {
    const c = new Cluster([1, 1, 1, 1], ['observer']);
    c.start(1);
    const p0 = c.proposer(0);
    c.input(p0, { type: 'proposalBlock', height: 1, round: 0, blockHash: 'b0' });
    const prop = c.proposalOf(p0, 0);
    assert.ok(prop);
    c.deliverProposal(prop, ['observer']);
    c.timeout('observer', 'propose', 0);
    for (const v of c.addrs) c.deliverVote(c.vote(v, 'precommit', 0, 'b0'), ['observer']);
    const actions = c.log.get('observer') ?? [];
    assert.ok(!actions.some((a) => a.type === 'vote' || a.type === 'propose'));
    assert.equal(c.decisions('observer')[0]?.blockHash, 'b0');
    assert.ok(!c.m('observer').isValidator);
  });

  test('far-future rounds: only a few per validator are kept', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const [me, x] = c.addrs;
    for (let r = 10; r < 10 + MAX_CATCHUP_ROUNDS + 3; r++) {
      c.deliverVote(c.vote(x, 'prevote', r, null), [me]);
    }
    const kept = Array.from({ length: 20 }, (_, r) => c.m(me).votes(r, 'prevote').length);
    assert.equal(
      kept.reduce((a, b) => a + b, 0),
      MAX_CATCHUP_ROUNDS,
    );
    // The next round is always accepted.
    c.deliverVote(c.vote(x, 'prevote', 1, null), [me]);
    assert.equal(c.m(me).votes(1, 'prevote').length, 1);
  });

  test('duplicated inputs change nothing', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const p0 = c.proposer(0);
    c.input(p0, { type: 'proposalBlock', height: 1, round: 0, blockHash: 'b0' });
    const prop = c.proposalOf(p0, 0);
    assert.ok(prop);
    const me = c.addrs.find((a) => a !== p0) as string;
    assert.equal(c.input(me, { type: 'proposal', proposal: prop, valid: true }).length, 1);
    assert.deepEqual(c.input(me, { type: 'proposal', proposal: prop, valid: true }), []);
    const own = c.castVote(me, 'prevote', 0) as Vote;
    assert.deepEqual(c.input(me, { type: 'vote', vote: own }), [], 'own vote looped back');
    assert.deepEqual(c.input(me, { type: 'vote', vote: { ...own } }), []);
  });

  test('same inputs, same outputs; invariants hold under random inputs', () => {
    const validators = {
      validators: ['a0', 'a1', 'a2', 'a3'].map((address) => ({ address, power: 1 })),
    };
    const hashes = ['b0', 'b1', 'b2', null];
    for (let seed = 1; seed <= 20; seed++) {
      const prng = new Prng(seed);
      const m1 = new TendermintMachine('a0', TIMEOUTS);
      const m2 = new TendermintMachine('a0', TIMEOUTS);
      const start: Input = { type: 'start', height: 1, validators };
      assert.deepEqual(m1.handle(start), m2.handle(start));
      const voted = new Map<string, string | null>();
      for (let i = 0; i < 400; i++) {
        const round = prng.int(0, 4);
        const x = prng.next();
        const who = prng.pick(['a0', 'a1', 'a2', 'a3']);
        let input: Input;
        if (x < 0.6) {
          const kind = prng.chance(0.5) ? 'prevote' : 'precommit';
          input = {
            type: 'vote',
            vote: { kind, height: 1, round, blockHash: prng.pick(hashes), validator: who },
          };
        } else if (x < 0.8) {
          const polRound = round > 0 && prng.chance(0.3) ? prng.int(0, round - 1) : -1;
          input = {
            type: 'proposal',
            proposal: {
              height: 1,
              round,
              blockHash: prng.pick(['b0', 'b1', 'b2']),
              polRound,
              proposer: m1.proposerFor(round),
            },
            valid: prng.chance(0.8),
          };
        } else if (x < 0.95) {
          input = {
            type: 'timeout',
            step: prng.pick(['propose', 'prevote', 'precommit']),
            height: 1,
            round: m1.round,
          };
        } else {
          input = { type: 'proposalBlock', height: 1, round: m1.round, blockHash: 'b9' };
        }
        const out1 = m1.handle(input);
        assert.deepEqual(out1, m2.handle(input));
        for (const a of out1) {
          if (a.type !== 'vote') continue;
          const key = `${a.vote.round}/${a.vote.kind}`;
          assert.ok(!voted.has(key), `voted twice for ${key}`);
          voted.set(key, a.vote.blockHash);
        }
        assert.ok(m1.lockedRound <= m1.validRound);
        if (m1.hasDecided) break;
      }
    }
  });
});
