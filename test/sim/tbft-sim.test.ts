/**
 * Deterministic simulation of Tendermint consensus (src/consensus/tbft/state-machine.ts).
 *
 * Random runs: SIM_SEEDS seeds (default 200) from SIM_SEED_BASE (default 1). Each seed builds a
 * network (4 equal validators or 4-7 weighted ones, maybe an observer, maybe a changing
 * validator set), faults (delays, drops, duplicates, slow links, held-back precommits,
 * partitions, crashes with WAL loss, crashes right after deciding) and usually one byzantine
 * validator, then checks agreement, validity and honest non-equivocation at every step and
 * liveness after the network heals. A failure prints the seed and the last events; replay it:
 *
 *   SIM_SEED=123 node --import tsx --test test/sim/tbft-sim.test.ts
 *
 * The scenario tests below script the tricky cases of the paper message by message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { proposer } from '../../src/consensus/tbft/proposer.ts';
import type { Hash } from '../../src/consensus/tbft/types.ts';
import {
  hashOf,
  randomScenario,
  type Scenario,
  type SimResult,
  Simulation,
  simulate,
} from './harness.ts';
import { Cluster } from './scripted.ts';

const only = process.env.SIM_SEED === undefined ? null : Number(process.env.SIM_SEED);
const seedCount = Number(process.env.SIM_SEEDS ?? 200);
const seedBase = Number(process.env.SIM_SEED_BASE ?? 1);

describe('random seeds', () => {
  test(only === null ? `${seedCount} seeds from ${seedBase}` : `seed ${only}`, (t) => {
    const seeds =
      only === null ? Array.from({ length: seedCount }, (_, i) => seedBase + i) : [only];
    const started = performance.now();
    const stats = {
      runs: 0,
      events: 0,
      decisions: 0,
      syncs: 0,
      laterRounds: 0,
      evidence: 0,
      byzantine: 0,
      observers: 0,
      maxRound: 0,
    };
    for (const seed of seeds) {
      // A SimFailure's message carries the seed, the replay command and the trace tail.
      const r = simulate(randomScenario(seed));
      stats.runs++;
      stats.events += r.events;
      stats.decisions += r.decisions.length;
      stats.syncs += r.decisions.filter((d) => d.via === 'sync').length;
      stats.laterRounds += r.decisions.filter((d) => d.via === 'consensus' && d.round > 0).length;
      stats.evidence += r.evidence.length;
      if (r.scenario.byzantine !== null) stats.byzantine++;
      stats.observers += r.scenario.observers;
      stats.maxRound = Math.max(stats.maxRound, r.maxRound);
      if (only !== null) {
        t.diagnostic(`scenario ${JSON.stringify(r.scenario)}`);
        t.diagnostic(`heights ${r.heights.join(' ')}, events ${r.events}, end ${r.endTime}ms`);
      }
    }
    t.diagnostic(`${JSON.stringify(stats)} in ${Math.round(performance.now() - started)} ms`);
    if (only === null && seedCount >= 100) {
      // The seeds must actually exercise the hard parts, or passing means little.
      assert.ok(stats.byzantine > seedCount / 3, 'byzantine validators in enough runs');
      assert.ok(stats.evidence > 0, 'equivocation was detected');
      assert.ok(stats.syncs > 0, 'nodes caught up by block sync');
      assert.ok(stats.laterRounds > seedCount, 'decisions in rounds after the first');
      assert.ok(stats.observers > 0, 'observers took part');
    }
  });

  test('a seed replays exactly', () => {
    const a = simulate(randomScenario(4242));
    const b = simulate(randomScenario(4242));
    assert.equal(a.events, b.events);
    assert.equal(a.endTime, b.endTime);
    assert.deepEqual(a.decisions, b.decisions);
    assert.deepEqual(a.evidence, b.evidence);
  });
});

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

/** A quiet network with no faults unless the test adds them. */
function calm(name: string, seed: number, over: Partial<Scenario> = {}): Scenario {
  return {
    name,
    seed,
    powers: [1, 1, 1, 1],
    byzantine: null,
    observers: 0,
    timeouts: { proposeMs: 300, voteMs: 150, deltaMs: 50 },
    minDelay: 2,
    maxDelay: 30,
    unstableMaxDelay: 30,
    slowLinks: 0,
    lateRate: 0,
    dropRate: 0,
    dupRate: 0.05,
    gossipMs: 300,
    crashes: [],
    partitions: [],
    crashOnDecide: 0,
    walLoss: false,
    healAt: 3000,
    targetHeights: 3,
    endAt: 40_000,
    byzInvalid: 0.3,
    byzStrategy: 'random',
    ...over,
  };
}

describe('crashes', () => {
  test('a crashed proposer: the others decide in a later round, it catches up later', () => {
    const sc = calm('crashed proposer', 11, { healAt: 5000 });
    const sim = new Simulation(sc);
    const first = sim
      .validatorSet(1)
      .validators.findIndex((x) => x.address === proposer(sim.validatorSet(1), 1, 0));
    sc.crashes.push({ node: first, at: 0, restartAt: null });
    const r = sim.run();
    const h1 = r.decisions.filter((d) => d.height === 1);
    assert.ok(h1.length >= 3);
    assert.ok(
      h1.filter((d) => d.via === 'consensus').every((d) => d.round >= 1),
      'round 0 had no proposal',
    );
    assert.ok(r.heights[first] >= r.heightAtHeal + 3, 'the restarted proposer caught up');
  });

  test('2 of 4 crashed: no decisions, no safety violation; progress once they return', () => {
    const sc = calm('two crashed', 12, {
      crashes: [
        { node: 0, at: 2000, restartAt: null },
        { node: 1, at: 2000, restartAt: null },
      ],
      healAt: 12_000,
    });
    const r = simulate(sc);
    const before = r.decisions.filter((d) => d.at <= 2000);
    assert.ok(before.length > 0, 'progress before the crash');
    const stalled = r.decisions.filter((d) => d.at > 2500 && d.at < 12_000);
    assert.deepEqual(stalled, [], 'half the power cannot decide');
    assert.ok(Math.min(...r.heights) >= r.heightAtHeal + 3);
  });

  test('crashes that lose the unsynced WAL tail never make a node double-sign', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const crashes = [0, 1, 2, 3].flatMap((node) => [
        { node, at: 500 + seed * 37 + node * 311, restartAt: 900 + seed * 37 + node * 311 },
        { node, at: 2500 + node * 97, restartAt: 2600 + node * 131 },
      ]);
      // Simulation fails on any attempt to sign a second, different message at one step.
      simulate(calm('wal loss', 100 + seed, { crashes, walLoss: true, healAt: 4000 }));
    }
  });
});

describe('equivocation', () => {
  test('an equivocating validator produces evidence at the correct nodes, once per slot', () => {
    const sc = calm('equivocator', 13, {
      byzantine: 2,
      byzStrategy: 'random',
      healAt: 4000,
      targetHeights: 5,
    });
    const r: SimResult = simulate(sc);
    assert.ok(r.evidence.length > 0);
    const byz = r.addresses[2];
    assert.ok(r.evidence.every((e) => e.validator === byz));
    for (const n of [0, 1, 3])
      assert.ok(
        r.evidence.some((e) => e.node === n),
        `node ${n}`,
      );
  });

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
