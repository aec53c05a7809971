/**
 * A long simulator campaign: `npm run sim -- --seeds 20000 [--from 1] [--workers 2]`.
 * Prints one JSON line of progress every `--every` seeds (default 500) and a final JSON line
 * with what the seeds exercised and every failing seed (with the command that replays it);
 * exits 1 if any seed failed.
 */
import { parseArgs } from 'node:util';
import { runSeedsInWorkers } from './campaign.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20000' },
    from: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    every: { type: 'string', default: '500' },
  },
});
const count = Number(values.seeds);
const from = Number(values.from);
const workers = Number(values.workers);
const every = Number(values.every);
if (![count, from, workers, every].every((n) => Number.isSafeInteger(n) && n > 0)) {
  console.error('usage: npm run sim -- --seeds N [--from SEED] [--workers K] [--every N]');
  process.exit(2);
}
const started = performance.now();
const elapsed = () => Math.round(performance.now() - started);
let reported = 0;
const seeds = Array.from({ length: count }, (_, i) => from + i);
const { stats, failures } = await runSeedsInWorkers(seeds, workers, (done) => {
  if (done - reported >= every || done === count) {
    reported = done;
    console.log(JSON.stringify({ progress: { done, of: count, elapsedMs: elapsed() } }));
  }
});
console.log(
  JSON.stringify({
    result: {
      seeds: { from, count },
      elapsedMs: elapsed(),
      failed: failures.length,
      failures: failures.map((f) => ({
        seed: f.seed,
        replay: `SIM_SEED=${f.seed} node --import tsx --test test/sim/tbft-sim.test.ts`,
        reason: f.message.split('\n')[0],
      })),
      stats,
    },
  }),
);
if (failures.length > 0) {
  for (const f of failures) console.error(f.message);
  process.exitCode = 1;
}
