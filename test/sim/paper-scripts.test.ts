/**
 * The tricky schedules of the paper, message by message, on the pure state machine
 * (src/consensus/tbft/state-machine.ts): locks across rounds, valid-round re-proposals, the
 * f + 1 round skip, late proposals and equivocation. The simulator's seeds exercise the same
 * rules through the real driver; these pin them down exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Hash } from '../../src/consensus/tbft/types.ts';
import { Cluster } from './scripted.ts';

/** A block hash for a label (any non-empty string is a hash to the machine). */
const hashOf = (label: string): Hash => Buffer.from(label, 'utf8').toString('hex');

const v = (label: string): Hash => hashOf(label);

describe('locking prevents a fork across rounds', () => {
  test('a node locked on a decided block refuses a new block in a later round', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const p0 = c.proposer(0);
    const byz = c.proposer(1); // played by the test: equivocates and proposes a rival block
    assert.notEqual(p0, byz);
    const honest = c.addrs.filter((a) => a !== byz);
    // A decides, B locks without deciding, C neither locks nor decides.
    const [A, B, C] = [p0, ...honest.filter((a) => a !== p0)];
    const block = v('h1.r0.block');
    assert.ok(c.askedForBlock(p0, 0));
    c.input(p0, { type: 'proposalBlock', height: 1, round: 0, blockHash: block });
    const prop0 = c.proposalOf(p0, 0);
    assert.ok(prop0);
    c.deliverProposal(
      prop0,
      honest.filter((a) => a !== p0),
    );
    for (const n of honest) assert.equal(c.castVote(n, 'prevote', 0)?.blockHash, block);

    // Round 0 prevotes: A and B see a polka, C sees two for the block and the byzantine's nil.
    c.relay(B, 'prevote', 0, [A]);
    c.relay(C, 'prevote', 0, [A, B]);
    c.relay(A, 'prevote', 0, [B, C]);
    c.deliverVote(c.vote(byz, 'prevote', 0, block), [A, B]);
    c.deliverVote(c.vote(byz, 'prevote', 0, null), [C]);
    assert.equal(c.m(A).lockedValue, block);
    assert.equal(c.m(B).lockedValue, block);
    assert.ok(c.scheduled(C, 'prevote', 0), 'C saw +2/3 prevotes of any kind');
    c.timeout(C, 'prevote', 0);
    assert.equal(c.castVote(C, 'precommit', 0)?.blockHash, null);
    assert.equal(c.m(C).lockedRound, -1);

    // Round 0 precommits: the byzantine precommits the block to A only; A decides.
    c.relay(B, 'precommit', 0, [A]);
    c.deliverVote(c.vote(byz, 'precommit', 0, block), [A]);
    const [decision] = c.decisions(A);
    assert.equal(decision?.blockHash, block);
    assert.equal(decision.round, 0);
    assert.deepEqual(
      decision.precommits.map((p) => p.validator),
      [A, B, byz].sort(),
    );
    c.relay(C, 'precommit', 0, [B]);
    c.relay(B, 'precommit', 0, [C]);
    c.deliverVote(c.vote(byz, 'precommit', 0, null), [B, C]);
    for (const n of [B, C]) {
      assert.equal(c.decisions(n).length, 0);
      c.timeout(n, 'precommit', 0);
      assert.equal(c.m(n).round, 1);
    }

    // Round 1: the byzantine proposer offers a rival block. B's lock holds, so no polka forms.
    const rival = v('h1.r1.rival');
    c.deliverProposal({ height: 1, round: 1, blockHash: rival, polRound: -1, proposer: byz }, [
      B,
      C,
    ]);
    assert.equal(c.castVote(B, 'prevote', 1)?.blockHash, null, 'B is locked on the block');
    assert.equal(c.castVote(C, 'prevote', 1)?.blockHash, rival);
    c.relay(B, 'prevote', 1, [C]);
    c.relay(C, 'prevote', 1, [B]);
    c.deliverVote(c.vote(byz, 'prevote', 1, rival), [B, C]);
    for (const n of [B, C]) {
      assert.notEqual(c.m(n).lockedValue, rival);
      c.timeout(n, 'prevote', 1);
      assert.equal(c.castVote(n, 'precommit', 1)?.blockHash, null);
    }
    assert.equal(c.m(B).lockedValue, block);

    // Late round-0 precommits (relayed by A's peers) let B and C decide the same block from
    // round 1; the byzantine's two precommits are evidence, and both count for their blocks.
    for (const n of [B, C]) {
      c.relay(A, 'precommit', 0, [n]);
      c.deliverVote(c.vote(byz, 'precommit', 0, block), [n]);
      const [d] = c.decisions(n);
      assert.equal(d?.blockHash, block, `${n} decides the block A decided`);
      assert.equal(d.round, 0);
      assert.equal(c.evidence(n).length, 1);
      assert.equal(c.evidence(n)[0].a.validator, byz);
    }
  });
});

describe('valid-round re-proposal', () => {
  test('a polka seen after precommitting nil is re-proposed and unlocks an older lock', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const [P0, P1, X] = [c.proposer(0), c.proposer(1), c.proposer(2)];
    const Y = c.addrs.find((a) => ![P0, P1, X].includes(a));
    assert.ok(Y && new Set([P0, P1, X, Y]).size === 4);
    const old = v('h1.r0.old');
    const block = v('h1.r1.block');

    // Round 0: X never sees the proposal; only Y sees the polka for `old` and locks on it.
    c.timeout(X, 'propose', 0);
    c.input(P0, { type: 'proposalBlock', height: 1, round: 0, blockHash: old });
    const prop0 = c.proposalOf(P0, 0);
    assert.ok(prop0);
    c.deliverProposal(prop0, [P1, Y]);
    c.relay(P0, 'prevote', 0, [Y, P1]);
    c.relay(P1, 'prevote', 0, [Y, X, P0]);
    c.relay(X, 'prevote', 0, [P0, P1, Y]);
    c.relay(P0, 'prevote', 0, [X]);
    assert.equal(c.m(Y).lockedValue, old);
    assert.equal(c.m(Y).lockedRound, 0);
    for (const n of [P0, P1, X]) {
      c.timeout(n, 'prevote', 0);
      assert.equal(c.castVote(n, 'precommit', 0)?.blockHash, null);
    }
    for (const from of [P0, P1, X, Y]) {
      c.relay(
        from,
        'precommit',
        0,
        c.addrs.filter((a) => a !== from),
      );
    }
    for (const n of c.addrs) c.timeout(n, 'precommit', 0);

    // Round 1: P1 saw no polka, so it builds a new block; Y's lock makes it prevote nil.
    assert.ok(c.askedForBlock(P1, 1));
    c.input(P1, { type: 'proposalBlock', height: 1, round: 1, blockHash: block });
    const prop1 = c.proposalOf(P1, 1);
    assert.equal(prop1?.polRound, -1);
    assert.ok(prop1);
    c.deliverProposal(prop1, [P0, X, Y]);
    assert.equal(c.castVote(Y, 'prevote', 1)?.blockHash, null);
    // X times out on prevotes, then sees the polka: validValue without a lock (line 36).
    c.relay(Y, 'prevote', 1, [X, P0, P1]);
    c.relay(P0, 'prevote', 1, [X, Y]);
    c.relay(X, 'prevote', 1, [P0, P1, Y]);
    for (const n of c.addrs) c.timeout(n, 'prevote', 1);
    for (const n of c.addrs) assert.equal(c.castVote(n, 'precommit', 1)?.blockHash, null);
    c.relay(P1, 'prevote', 1, [X]);
    assert.equal(c.m(X).validValue, block);
    assert.equal(c.m(X).validRound, 1);
    assert.equal(c.m(X).lockedRound, -1);
    for (const from of c.addrs) {
      c.relay(
        from,
        'precommit',
        1,
        c.addrs.filter((a) => a !== from),
      );
    }
    for (const n of c.addrs) c.timeout(n, 'precommit', 1);

    // Round 2: X re-proposes validValue with polRound 1 instead of building a block.
    const prop2 = c.proposalOf(X, 2);
    assert.ok(prop2);
    assert.equal(prop2.blockHash, block);
    assert.equal(prop2.polRound, 1);
    assert.ok(!c.askedForBlock(X, 2));
    c.deliverProposal(prop2, [P0, P1, Y]);
    // Y (locked in round 0 <= 1) waits for the round-1 polka, then prevotes it (line 28).
    assert.equal(c.castVote(Y, 'prevote', 2), undefined);
    c.relay(P1, 'prevote', 1, [Y, P0]);
    c.relay(P0, 'prevote', 1, [P1]);
    for (const n of c.addrs) assert.equal(c.castVote(n, 'prevote', 2)?.blockHash, block);
    for (const from of c.addrs) {
      c.relay(
        from,
        'prevote',
        2,
        c.addrs.filter((a) => a !== from),
      );
    }
    for (const from of c.addrs) {
      c.relay(
        from,
        'precommit',
        2,
        c.addrs.filter((a) => a !== from),
      );
    }
    for (const n of c.addrs) {
      assert.equal(c.decisions(n)[0]?.blockHash, block);
      assert.equal(c.decisions(n)[0]?.round, 2);
    }
  });
});

describe('round skip on f + 1', () => {
  test('messages of a higher round from more than 1/3 of the power move a node there', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const [me, a, b] = c.addrs;
    c.deliverVote(c.vote(a, 'prevote', 5, null), [me]);
    assert.equal(c.m(me).round, 0, 'one validator of four is not enough');
    c.deliverVote(c.vote(b, 'precommit', 5, v('x')), [me]);
    assert.equal(c.m(me).round, 5);
    assert.equal(c.m(me).step, 'propose');
    assert.ok(c.scheduled(me, 'propose', 5));
  });

  test('power counts, not heads: one heavy validator is enough', () => {
    const c = new Cluster([1, 1, 1, 4]);
    c.start(1);
    c.deliverVote(c.vote('a3', 'prevote', 3, null), ['a0']);
    assert.equal(c.m('a0').round, 3);
    const d = new Cluster([1, 1, 1, 4]);
    d.start(1);
    d.deliverVote(d.vote('a1', 'prevote', 3, null), ['a0']);
    d.deliverVote(d.vote('a2', 'prevote', 3, null), ['a0']);
    assert.equal(d.m('a0').round, 0, 'two light validators (2/7) are not more than 1/3');
  });

  test('a proposal counts as a message of its round', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const p1 = c.proposer(1);
    const me = c.addrs.find((x) => x !== p1 && x !== c.proposer(0)) as string;
    const other = c.addrs.find((x) => ![p1, me].includes(x)) as string;
    c.deliverProposal({ height: 1, round: 1, blockHash: v('b'), polRound: -1, proposer: p1 }, [me]);
    assert.equal(c.m(me).round, 0);
    c.deliverVote(c.vote(other, 'prevote', 1, null), [me]);
    assert.equal(c.m(me).round, 1);
    // The stored proposal is used at once: we prevote it.
    assert.equal(c.castVote(me, 'prevote', 1)?.blockHash, v('b'));
  });
});

describe('late proposal', () => {
  function setup() {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const p0 = c.proposer(0);
    const block = v('h1.r0.late');
    c.input(p0, { type: 'proposalBlock', height: 1, round: 0, blockHash: block });
    const prop = c.proposalOf(p0, 0);
    assert.ok(prop);
    const others = c.addrs.filter((a) => a !== p0);
    return { c, p0, prop, block, me: others[0], others };
  }

  test('after +2/3 prevotes and a prevote-nil timeout: lock and precommit (line 36)', () => {
    const { c, p0, prop, block, me, others } = setup();
    for (const o of [p0, others[1], others[2]]) {
      c.deliverVote(c.vote(o, 'prevote', 0, block), [me]);
    }
    assert.equal(c.m(me).step, 'propose', 'no proposal yet: line 34 waits for the prevote step');
    c.timeout(me, 'propose', 0);
    assert.equal(c.castVote(me, 'prevote', 0)?.blockHash, null);
    assert.ok(c.scheduled(me, 'prevote', 0));
    c.deliverProposal(prop, [me]);
    assert.equal(c.m(me).lockedValue, block);
    assert.equal(c.m(me).lockedRound, 0);
    assert.equal(c.castVote(me, 'precommit', 0)?.blockHash, block);
  });

  test('polka first, proposal still in the propose step: prevote then precommit at once', () => {
    const { c, p0, prop, block, me, others } = setup();
    for (const o of [p0, others[1], others[2]]) {
      c.deliverVote(c.vote(o, 'prevote', 0, block), [me]);
    }
    const out = c.input(me, { type: 'proposal', proposal: prop, valid: true });
    const votes = out.flatMap((a) => (a.type === 'vote' ? [a.vote] : []));
    assert.deepEqual(
      votes.map((x) => [x.kind, x.blockHash]),
      [
        ['prevote', block],
        ['precommit', block],
      ],
    );
  });

  test('+2/3 precommits before the proposal: decide when it arrives (line 49)', () => {
    const { c, p0, prop, block, me, others } = setup();
    for (const o of [p0, others[1], others[2]]) {
      c.deliverVote(c.vote(o, 'precommit', 0, block), [me]);
    }
    assert.equal(c.decisions(me).length, 0);
    c.deliverProposal(prop, [me]);
    assert.equal(c.decisions(me)[0]?.blockHash, block);
  });

  test('an invalid proposal is never prevoted, locked or decided', () => {
    const { c, p0, prop, block, me, others } = setup();
    for (const o of [p0, others[1], others[2]]) {
      c.deliverVote(c.vote(o, 'prevote', 0, block), [me]);
      c.deliverVote(c.vote(o, 'precommit', 0, block), [me]);
    }
    c.deliverProposal(prop, [me], false);
    assert.equal(c.castVote(me, 'prevote', 0)?.blockHash, null);
    assert.equal(c.m(me).lockedRound, -1);
    assert.equal(c.decisions(me).length, 0);
  });
});

describe('equivocation', () => {
  test('two different votes for one slot: one evidence action, both counted per block', () => {
    const c = new Cluster([1, 1, 1, 1]);
    c.start(1);
    const [me, bad] = c.addrs;
    c.deliverVote(c.vote(bad, 'prevote', 0, v('x')), [me]);
    c.deliverVote(c.vote(bad, 'prevote', 0, v('x')), [me]);
    assert.equal(c.evidence(me).length, 0, 'a duplicate is not evidence');
    c.deliverVote(c.vote(bad, 'prevote', 0, v('y')), [me]);
    c.deliverVote(c.vote(bad, 'prevote', 0, null), [me]);
    const ev = c.evidence(me);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].a.blockHash, v('x'));
    assert.equal(ev[0].b.blockHash, v('y'));
    // A precommit is another slot.
    c.deliverVote(c.vote(bad, 'precommit', 0, v('x')), [me]);
    c.deliverVote(c.vote(bad, 'precommit', 0, v('z')), [me]);
    assert.equal(c.evidence(me).length, 2);
  });
});
