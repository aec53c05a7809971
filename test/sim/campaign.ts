/**
 * Runs many random seeds and sums up what they exercised, in this thread or spread over worker
 * threads (a seed is single-threaded; the CI machine has two cores). Used by the seed tests and
 * by `npm run sim`.
 */
import { Worker } from 'node:worker_threads';
import { randomScenario, simulate, type SimResult } from './harness.ts';

export interface CampaignStats {
  runs: number;
  events: number;
  simulatedMs: number;
  decisions: number;
  syncs: number;
  laterRounds: number;
  maxRound: number;
  equivocationsSeen: number;
  evidencePooled: number;
  evidenceCommitted: number;
  walReplays: number;
  refusedBlocks: number;
  byzantine: number;
  strategies: Record<string, number>;
  observers: number;
  valsetChanges: number;
  skewed: number;
  crashes: number;
  partitions: number;
}

export interface SeedFailure {
  seed: number;
  message: string;
}

export interface CampaignOutcome {
  stats: CampaignStats;
  failures: SeedFailure[];
}

export function emptyStats(): CampaignStats {
  return {
    runs: 0,
    events: 0,
    simulatedMs: 0,
    decisions: 0,
    syncs: 0,
    laterRounds: 0,
    maxRound: 0,
    equivocationsSeen: 0,
    evidencePooled: 0,
    evidenceCommitted: 0,
    walReplays: 0,
    refusedBlocks: 0,
    byzantine: 0,
    strategies: {},
    observers: 0,
    valsetChanges: 0,
    skewed: 0,
    crashes: 0,
    partitions: 0,
  };
}

export function addResult(s: CampaignStats, r: SimResult): void {
  const sc = r.scenario;
  s.runs++;
  s.events += r.events;
  s.simulatedMs += r.endTime;
  s.decisions += r.decisions.length;
  s.syncs += r.decisions.filter((d) => d.via === 'sync').length;
  s.laterRounds += r.decisions.filter((d) => d.via === 'consensus' && d.round > 0).length;
  s.maxRound = Math.max(s.maxRound, r.maxRound);
  s.equivocationsSeen += r.equivocationsSeen;
  s.evidencePooled += r.evidence.length;
  s.evidenceCommitted += r.committedEvidence;
  s.walReplays += r.walReplays;
  s.refusedBlocks += r.logs['proposed block refused'] ?? 0;
  if (sc.byzantine !== null) {
    s.byzantine++;
    s.strategies[sc.byzStrategy] = (s.strategies[sc.byzStrategy] ?? 0) + 1;
  }
  s.observers += sc.observers;
  if (sc.powersEven || sc.changes) s.valsetChanges++;
  if (sc.skew?.length) s.skewed++;
  s.crashes += sc.crashes.length;
  s.partitions += sc.partitions.length;
}

export function mergeStats(a: CampaignStats, b: CampaignStats): CampaignStats {
  const out = { ...a, strategies: { ...a.strategies } };
  for (const k of Object.keys(b) as (keyof CampaignStats)[]) {
    if (k === 'strategies') {
      for (const [name, n] of Object.entries(b.strategies))
        out.strategies[name] = (out.strategies[name] ?? 0) + n;
    } else if (k === 'maxRound') out.maxRound = Math.max(a.maxRound, b.maxRound);
    else out[k] = a[k] + b[k];
  }
  return out;
}

/** Run `seeds` here, one after another; failures are collected, not thrown. */
export function runSeeds(seeds: number[], progress?: (done: number) => void): CampaignOutcome {
  const stats = emptyStats();
  const failures: SeedFailure[] = [];
  for (const [i, seed] of seeds.entries()) {
    try {
      addResult(stats, simulate(randomScenario(seed)));
    } catch (e) {
      failures.push({ seed, message: (e as Error).message });
    }
    progress?.(i + 1);
  }
  return { stats, failures };
}

/**
 * A worker's entry: TypeScript needs tsx's loader, which `--import tsx` does not give a worker's
 * own entry module in Node 20, so the worker registers it before importing the seed runner.
 */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./seed-worker.ts', import.meta.url).href)}); })`;

/** Run `seeds` on `workers` threads (seed i on thread i mod workers). */
export async function runSeedsInWorkers(
  seeds: number[],
  workers: number,
  progress?: (done: number) => void,
): Promise<CampaignOutcome> {
  if (workers <= 1) return runSeeds(seeds, progress);
  const done = new Array<number>(workers).fill(0);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = seeds.filter((_, i) => i % workers === w);
      return new Promise<CampaignOutcome>((resolve, reject) => {
        const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { seeds: mine } });
        worker.on('message', (m: { done?: number; outcome?: CampaignOutcome }) => {
          if (m.done !== undefined) {
            done[w] = m.done;
            progress?.(done.reduce((a, b) => a + b, 0));
          }
          if (m.outcome) resolve(m.outcome);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`seed worker ${w} exited with ${code}`));
        });
      });
    }),
  );
  return {
    stats: parts.map((p) => p.stats).reduce(mergeStats, emptyStats()),
    failures: parts.flatMap((p) => p.failures).sort((a, b) => a.seed - b.seed),
  };
}
