/**
 * Named scenarios for the simulator (harness.ts): the cases random seeds hit only by luck, the
 * driver and block-sync bugs the simulator found (each fails without its fix), and races the
 * old model of the driver could not express at all (block sync racing a round change, a
 * validator that joins while partitioned, a skewed clock).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { proposer } from '../../src/consensus/tbft/proposer.ts';
import { decode, HeaderSchema } from '../../src/codec/index.ts';
import { hex } from '../../src/types/hex.ts';
import { randomScenario, type Scenario, type SimResult, Simulation, simulate } from './harness.ts';

/** A quiet network with no faults unless the test adds them. */
function calm(name: string, seed: number, over: Partial<Scenario> = {}): Scenario {
  return {
    name,
    seed,
    powers: [1, 1, 1, 1],
    byzantine: null,
    observers: 0,
    timeouts: { proposeMs: 300, voteMs: 150, deltaMs: 50 },
    blockIntervalMs: 50,
    minDelay: 2,
    maxDelay: 30,
    unstableMaxDelay: 30,
    slowLinks: 0,
    lateRate: 0,
    dropRate: 0,
    dupRate: 0.05,
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

/** A lossy, reordering network before healAt. */
const hostile: Partial<Scenario> = {
  unstableMaxDelay: 300,
  slowLinks: 0.2,
  lateRate: 0.3,
  dropRate: 0.15,
};

/** The index of the node that proposes (height, round) in `sim`. */
function proposerIndex(sim: Simulation, height: number, round: number): number {
  const p = proposer(sim.machineSet(height), height, round);
  return sim.nodes.findIndex((n) => n.address === p);
}

describe('replay', () => {
  test('a seed replays exactly: same events, same digest, same decisions', () => {
    const a = simulate(randomScenario(4242));
    const b = simulate(randomScenario(4242));
    assert.equal(a.events, b.events);
    assert.equal(a.endTime, b.endTime);
    assert.equal(a.digest, b.digest);
    assert.deepEqual(a.decisions, b.decisions);
    assert.deepEqual(a.evidence, b.evidence);
    assert.notEqual(simulate(randomScenario(4243)).digest, a.digest, 'another seed, another run');
  });
});

describe('crashes', () => {
  test('a crashed proposer: the others decide in a later round, it catches up later', () => {
    const sc = calm('crashed proposer', 11, { healAt: 5000 });
    const sim = new Simulation(sc);
    const first = proposerIndex(sim, 1, 0);
    sc.crashes.push({ node: first, at: 0, restartAt: null });
    const r = sim.run();
    const h1 = r.decisions.filter((d) => d.height === 1);
    assert.ok(h1.length >= 3);
    assert.ok(
      h1.filter((d) => d.via === 'consensus').every((d) => d.round >= 1),
      'round 0 had no proposal',
    );
    assert.ok(r.heights[first] >= r.heightAtHeal + 3, 'the restarted proposer caught up');
    assert.ok(
      r.decisions.some((d) => d.node === first && d.via === 'sync'),
      'it caught up by block sync',
    );
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
    assert.ok(
      r.decisions.some((d) => d.at <= 2000),
      'progress before the crash',
    );
    const stalled = r.decisions.filter((d) => d.at > 2500 && d.at < 12_000);
    assert.deepEqual(stalled, [], 'half the power cannot decide');
    assert.ok(Math.min(...r.heights) >= r.heightAtHeal + 3);
  });

  test('crashes that lose the unsynced WAL tail: the real WAL replay, never a double sign', () => {
    let replays = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const crashes = [0, 1, 2, 3].flatMap((node) => [
        { node, at: 500 + seed * 37 + node * 311, restartAt: 900 + seed * 37 + node * 311 },
        { node, at: 2500 + node * 97, restartAt: 2600 + node * 131 },
      ]);
      // The run fails if a guard is asked for a second, different signature at one step.
      const r = simulate(
        calm('wal loss', 100 + seed, { ...hostile, crashes, walLoss: true, healAt: 4000 }),
      );
      replays += r.walReplays;
    }
    assert.ok(replays > 10, `restarts replayed their WAL (${replays})`);
  });

  test('crashes right after deciding, with a byzantine validator', () => {
    for (let seed = 1; seed <= 4; seed++) {
      simulate(
        calm('crash on decide', 200 + seed, {
          ...hostile,
          crashOnDecide: 0.5,
          walLoss: true,
          byzantine: seed % 4,
          byzStrategy: 'amnesia',
          healAt: 8000,
        }),
      );
    }
  });
});

describe('partitions', () => {
  test('a minority cannot decide; the majority can; the minority syncs after healing', () => {
    const r = simulate(
      calm('minority', 21, {
        partitions: [{ at: 1000, until: 6000, groups: [[0], [1, 2, 3]] }],
        healAt: 6000,
      }),
    );
    const alone = r.decisions.filter((d) => d.node === 0 && d.at > 1300 && d.at < 6000);
    assert.deepEqual(alone, [], 'node 0 alone decides nothing');
    assert.ok(
      r.decisions.some((d) => d.node === 1 && d.at > 2000 && d.at < 6000),
      'the majority goes on',
    );
    assert.ok(r.decisions.some((d) => d.node === 0 && d.via === 'sync' && d.at >= 6000));
  });

  test('two halves: nobody decides until the partition heals', () => {
    const r = simulate(
      calm('halves', 22, {
        partitions: [
          {
            at: 1000,
            until: 7000,
            groups: [
              [0, 1],
              [2, 3],
            ],
          },
        ],
        healAt: 7000,
      }),
    );
    assert.deepEqual(
      r.decisions.filter((d) => d.at > 1300 && d.at < 7000),
      [],
    );
  });
});

describe('byzantine validator', () => {
  for (const strategy of ['random', 'split', 'amnesia'] as const) {
    test(`${strategy}: safety holds, equivocation becomes evidence that blocks carry`, () => {
      let pooled = 0;
      let committed = 0;
      for (let seed = 1; seed <= 4; seed++) {
        const r: SimResult = simulate(
          calm(`byzantine ${strategy}`, 300 + seed, {
            ...hostile,
            byzantine: seed % 4,
            byzStrategy: strategy,
            healAt: 8000,
            targetHeights: 4,
          }),
        );
        const byz = r.addresses[seed % 4];
        assert.ok(r.evidence.every((e) => e.validator === byz));
        pooled += r.evidence.length;
        committed += r.committedEvidence;
      }
      assert.ok(pooled > 0, 'evidence pooled');
      assert.ok(committed > 0, 'evidence committed');
    });
  }

  test('every correct node pools the evidence of an equivocating validator', () => {
    const r = simulate(calm('equivocator', 13, { byzantine: 2, healAt: 4000, targetHeights: 5 }));
    for (const n of [0, 1, 3])
      assert.ok(
        r.evidence.some((e) => e.node === n),
        `node ${n}`,
      );
  });

  test('invalid blocks (marker, wrong parent, forged evidence) are refused, never decided', () => {
    const r = simulate(
      calm('invalid blocks', 14, {
        ...hostile,
        byzantine: 1,
        byzInvalid: 1,
        healAt: 10_000,
      }),
    );
    assert.ok((r.logs['proposed block refused'] ?? 0) > 0);
  });
});

describe('validator sets', () => {
  test('weights change every other height and the set changes at height 5', () => {
    const r = simulate(
      calm('valset', 31, {
        ...hostile,
        powers: [1, 2, 3, 1, 2],
        powersEven: [3, 1, 1, 2, 2],
        observers: 1,
        changes: [{ from: 5, powers: [2, 0, 1, 1, 2, 1] }],
        byzantine: 3,
        healAt: 8000,
        targetHeights: 5,
      }),
    );
    // Every commit was checked against the set of its own height; node 1 left at height 5,
    // node 5 (an observer until then) joined.
    const correct = r.heights.filter((_, i) => i !== 3);
    assert.ok(Math.min(...correct) >= Math.max(6, r.heightAtHeal + 5));
  });
});

describe('bugs the simulator found in the driver and reactors', () => {
  test('a lock whose polka only the locked node saw: the re-proposal carries the polka', () => {
    // Round 0 of height 1: a misses the proposal and prevotes nil; b, c, d prevote it, but d's
    // prevote reaches c alone, and d then crashes for good. c locks; a and b never see a
    // polka. a, b and c are all needed from then on, c prevotes nothing but its lock, and a
    // and b can accept c's re-proposal (polRound 0) only if they see the polka of round 0,
    // which d's vote completes and d will never send again.
    const sc = calm('polka seen by one', 71, { healAt: 3000 });
    const sim = new Simulation(sc);
    const c = proposerIndex(sim, 1, 0);
    const [a, _b, d] = [0, 1, 2, 3].filter((i) => i !== c);
    sc.crashes = [{ node: d, at: 1000, restartAt: null }];
    sc.excused = [d];
    sc.hooks = {
      filter(t) {
        if (t.info.height !== 1 || t.info.round !== 0) return undefined;
        if (t.info.kind === 'proposal' && t.to === a) return 'drop';
        if (t.from === d && t.to !== c) return 'drop';
        return undefined;
      },
    };
    const r = sim.run();
    assert.ok(r.heights[c] >= 4);
    const h1 = r.decisions.find((x) => x.node === c && x.height === 1);
    assert.ok(h1 && h1.round > 0, 'height 1 was decided after round 0');
  });

  test('a vote lost while every node waits for +2/3 of any kind is sent again', () => {
    // Powers 2, 5, 1, 4 (more than 8 of 12 needed). The 4's round-0 prevote never reaches the
    // 5 before the heal: the 5 sees 8 and waits in the prevote step, the others see all four
    // prevotes, precommit and wait for a precommit of the 5. Neither wait has a timeout, so
    // once the network is whole only a repeated prevote can end it.
    const sc = calm('lost vote, no timeout', 72, { powers: [2, 5, 1, 4], healAt: 3000 });
    sc.hooks = {
      filter(t, s) {
        if (s.healed || t.from !== 3 || t.to !== 1) return undefined;
        return t.info.kind === 'prevote' && t.info.height === 1 && t.info.round === 0
          ? 'drop'
          : undefined;
      },
    };
    const r = simulate(sc);
    assert.ok(Math.min(...r.heights) >= 3);
    assert.equal(
      r.decisions.filter((x) => x.at < 3000).length,
      0,
      'height 1 stood still until the heal',
    );
  });
});

describe('races the old model could not express', () => {
  for (const delay of [0, 1, 5]) {
    test(`block sync racing a round change (answer ${delay} ms after the round starts)`, () => {
      // Node x hears the votes of height H but none of its proposals (a link that loses the
      // large messages). The others decide H in round 1 (round 0's proposal is lost for all).
      // x sees +2/3 precommits for a block it does not hold and moves to round 2 on its
      // timeout; the block sync answer for H, held back until then, arrives as that round
      // starts. x must commit H by sync, leave the round, and vote at H + 1.
      const H = 2;
      const sc = calm(`sync vs round change ${delay}`, 41 + delay, { healAt: 6000 });
      const sim = new Simulation(sc);
      const x = [0, 1, 2, 3].find(
        (i) => i !== proposerIndex(sim, H, 0) && i !== proposerIndex(sim, H, 1),
      ) as number;
      let roundChangeAt = -1;
      let released = false;
      sc.hooks = {
        filter(t) {
          if (
            t.info.kind === 'proposal' &&
            t.info.height === H &&
            (t.to === x || t.info.round === 0)
          )
            return 'drop';
          if (t.to === x && t.info.kind === 'response' && t.info.height === H) return 'hold';
          return undefined;
        },
        afterEvent(s) {
          const m = s.machine(x);
          if (roundChangeAt < 0 && m?.height === H && m.round >= 2) {
            roundChangeAt = s.time;
            s.note(`x (n${x}) entered round ${m.round} at height ${H}`);
          }
          if (roundChangeAt >= 0 && !released && s.held.length > 0) {
            released = true;
            for (const t of s.held.splice(0)) s.release(t, delay);
          }
        },
      };
      const r = sim.run();
      assert.ok(roundChangeAt > 0, 'x changed round at height H');
      const synced = r.decisions.find((d) => d.node === x && d.height === H);
      assert.equal(synced?.via, 'sync');
      assert.equal(synced?.at, roundChangeAt + delay, 'the answer came as the round started');
      assert.ok(
        r.decisions
          .filter((d) => d.height === H && d.via === 'consensus')
          .every((d) => d.round === 1),
      );
      const last = sim.lastSigned(x);
      assert.ok(last && last.height > H + 1, 'x votes again after syncing');
    });
  }

  test('a validator joining at H + 2 while partitioned catches up by block sync, then votes', () => {
    // Node 4 follows as an observer; the set of height 3 (= H + 2 for a change in block 1)
    // adds it. It is cut off from t = 0 until the heal, long after height 3, so it must sync
    // every block, and node 0 crashes for good just after the heal: from then on 4 of the 5
    // validators are needed, the newcomer among them.
    const healAt = 6000;
    const sc = calm('join while partitioned', 51, {
      observers: 1,
      changes: [{ from: 3, powers: [1, 1, 1, 1, 1] }],
      partitions: [{ at: 0, until: healAt, groups: [[4], [0, 1, 2, 3]] }],
      crashes: [{ node: 0, at: healAt + 1, restartAt: 1_000_000 }],
      excused: [0],
      healAt,
      targetHeights: 4,
    });
    const sim = new Simulation(sc);
    const r = sim.run();
    assert.ok(r.heightAtHeal > 5, 'the others went on without it');
    assert.equal(
      r.decisions.filter((d) => d.node === 4 && d.at < healAt).length,
      0,
      'nothing reached it before the heal',
    );
    const synced = r.decisions.filter((d) => d.node === 4 && d.via === 'sync');
    assert.ok(synced.length >= r.heightAtHeal - 1, 'it synced the heights it missed');
    // Its precommit is in the commits of heights decided after the heal.
    const chain = sim.chain(1);
    const signedBy4 = [];
    for (let h = r.heightAtHeal + 2; h <= chain.height; h++) {
      const c = chain.seenCommitAt(h);
      if (c?.signatures.some((s) => hex(s.validator) === r.addresses[4])) signedBy4.push(h);
    }
    assert.ok(signedBy4.length > 0, 'the newcomer voted');
  });

  for (const ms of [2000, -2000]) {
    test(`a node whose clock is ${ms > 0 ? 'ahead' : 'behind'} by 2 s`, () => {
      const sc = calm(`skew ${ms}`, 61, { ...hostile, skew: [{ node: 1, ms }], healAt: 6000 });
      const sim = new Simulation(sc);
      const r = sim.run();
      const chain = sim.chain(0);
      let byNode1 = 0;
      let prev = 0;
      for (let h = 1; h <= chain.height; h++) {
        const header = decode(
          HeaderSchema,
          chain.blockAt(h)?.header ?? new Uint8Array(),
          'INTERNAL',
        );
        assert.ok(Number(header.time) > prev, 'block times increase');
        prev = Number(header.time);
        if (hex(header.proposer) === r.addresses[1]) byNode1++;
      }
      assert.ok(byNode1 > 0, 'the skewed node proposed committed blocks');
    });
  }
});
