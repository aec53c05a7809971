/**
 * The random-seed tests, split over two test files (tbft-sim.test.ts takes the first half of
 * the seeds, tbft-sim-b.test.ts the second) that each spread their half over worker threads,
 * so the seeds use both cores whether the runner runs test files one at a time or two at once.
 *
 *   SIM_SEEDS=N        seeds in all (default 1000), from SIM_SEED_BASE (default 1)
 *   SIM_SEED=n         replay seed n alone, with its scenario and outcome as diagnostics
 *   SIM_WORKERS=k      threads per file (default 2)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CampaignStats, runSeedsInWorkers } from './campaign.ts';
import { randomScenario, simulate } from './harness.ts';

const only = process.env.SIM_SEED === undefined ? null : Number(process.env.SIM_SEED);
const total = Number(process.env.SIM_SEEDS ?? 1000);
const base = Number(process.env.SIM_SEED_BASE ?? 1);
const workers = Number(process.env.SIM_WORKERS ?? 2);

/** The seed test of one half (0: first, 1: second). */
export function seedTests(half: 0 | 1): void {
  if (only !== null) {
    if (half === 1) return;
    test(`seed ${only}`, (t) => {
      const r = simulate(randomScenario(only));
      const { hooks: _, ...scenario } = r.scenario;
      t.diagnostic(`scenario ${JSON.stringify(scenario)}`);
      t.diagnostic(
        `heights ${r.heights.join(' ')}, events ${r.events}, end ${r.endTime}ms, ` +
          `digest ${r.digest.toString(16)}`,
      );
    });
    return;
  }
  const first = Math.floor(total / 2);
  const from = half === 0 ? base : base + first;
  const count = half === 0 ? first : total - first;
  test(`${count} random seeds from ${from}`, async (t) => {
    const started = performance.now();
    const seeds = Array.from({ length: count }, (_, i) => from + i);
    const { stats, failures } = await runSeedsInWorkers(seeds, workers);
    t.diagnostic(`${JSON.stringify(stats)} in ${Math.round(performance.now() - started)} ms`);
    // A failure's message carries the seed, the replay command and the trace tail.
    assert.deepEqual(
      failures.map((f) => f.message),
      [],
      `${failures.length} seeds failed: ${failures.map((f) => f.seed).join(', ')}`,
    );
    if (count >= 100) exercised(stats, count);
  });
}

/** The seeds must actually exercise the hard parts, or passing means little. */
function exercised(s: CampaignStats, count: number): void {
  assert.ok(s.byzantine > count / 3, 'byzantine validators in enough runs');
  for (const strategy of ['random', 'split', 'amnesia'])
    assert.ok((s.strategies[strategy] ?? 0) > 0, `the ${strategy} byzantine strategy ran`);
  assert.ok(
    s.equivocationsSeen > 0,
    'correct nodes filed conflicting votes (each became evidence)',
  );
  assert.ok(s.evidencePooled > 0, 'equivocation was detected');
  assert.ok(s.evidenceCommitted > 0, 'blocks carried evidence');
  assert.ok(s.refusedBlocks > 0, 'invalid blocks were proposed and refused');
  assert.ok(s.syncs > 0, 'nodes caught up by block sync');
  assert.ok(s.walReplays > 0, 'restarted nodes replayed their WAL');
  assert.ok(s.laterRounds > count, 'decisions in rounds after the first');
  assert.ok(s.observers > 0, 'observers took part');
  assert.ok(s.valsetChanges > 0, 'validator sets changed');
  assert.ok(s.skewed > 0, 'clocks were skewed');
}
