/** A worker thread of runSeedsInWorkers: runs its seeds and reports progress and the outcome. */
import { parentPort, workerData } from 'node:worker_threads';
import { runSeeds } from './campaign.ts';

const { seeds } = workerData as { seeds: number[] };
const outcome = runSeeds(seeds, (done) => {
  if (done % 10 === 0 && done < seeds.length) parentPort?.postMessage({ done });
});
parentPort?.postMessage({ done: seeds.length, outcome });
