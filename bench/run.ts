/**
 * `npm run bench`: starts a solo node per crypto profile in a temp dir, runs
 * `archi bench --workload transfer` against it, prints one JSON document and writes it
 * under bench/results/. Timings never fail anything.
 * --nodes 4 runs the same against a 4-organization BFT network (4 processes).
 * --chains 2 (with --nodes > 1) makes the nodes host that many chains (all orgs, the same
 * profile; `archi chain new` + `chain join`) and loads every chain at once with the same
 * offered load each: the result sums what they commit together, to compare with one chain.
 * --chains 1,2 --repeat 3 alternates runs of each count (1, 2, 1, 2, 1, 2) and adds a summary:
 * the median per count and its share of one chain's (this VM's speed varies by a quarter
 * from run to run, so one run of each says little).
 * Options: --txs N (default 30000), --concurrency C (default 256), --batch B (default 1),
 * --profiles standard,gm, --workload transfer|kv, --logs DIR (each node's log to DIR/nodeN.log),
 * --cpu-prof DIR (each node's V8 CPU profile, written when it stops), --log-level L (the nodes'
 * log level, e.g. debug to see each block built or validated and each timeout, with --logs)
 * --find-rate MS (after the saturating run, on the same network): the highest fixed offered
 * rate (`archi bench --rate R --duration S`) that the chain commits in full with latency p99
 * within MS: rates double from --rate-start until one fails, then bisect; --rate-duration S
 * (default 20) per step. Each step is in the result's rateSearch.
 * --max-block-gas N|none: every chain's genesis params.maxBlockGas before the nodes start (none:
 * no block gas limit, as in a genesis written before the param; default: what init writes).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  gitCommit,
  machineInfo,
  machineJiffies,
  nodeCpuSeconds,
  runArchi as run,
  spawnNodes,
  stopProcesses,
  waitNodes,
  writeReport,
} from './harness.ts';

const { values } = parseArgs({
  options: {
    txs: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '256' },
    profiles: { type: 'string', default: 'standard,gm' },
    workload: { type: 'string', default: 'transfer' },
    batch: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '1' },
    chains: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '1' },
    logs: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'log-level': { type: 'string' },
    'find-rate': { type: 'string' },
    'rate-start': { type: 'string', default: '250' },
    'rate-duration': { type: 'string', default: '20' },
    'max-block-gas': { type: 'string' },
  },
});

/** Sets (for `none`, removes) params.maxBlockGas in a genesis file no node has used yet. */
function setMaxBlockGas(file: string, value: string): void {
  const g = JSON.parse(readFileSync(file, 'utf8'));
  if (value === 'none') delete g.params.maxBlockGas;
  else g.params.maxBlockGas = Number(value);
  writeFileSync(file, JSON.stringify(g, null, 2));
}

/** Share of the offered txs a rate step must commit to pass. */
const RATE_COMMIT_SHARE = 0.99;
/** Bisection steps after the first failing rate. */
const RATE_BISECT_STEPS = 3;

/**
 * The highest offered rate the network commits in full with latency p99 within `p99Ms`:
 * rates double until one fails (p99 over, or less than RATE_COMMIT_SHARE committed), then
 * bisect between the last pass and that failure.
 */
async function findRate(dir: string, p99Ms: number): Promise<unknown> {
  const duration = Number(values['rate-duration']);
  const steps: Array<Record<string, unknown>> = [];
  const step = async (rate: number): Promise<boolean> => {
    const out = await run([
      'bench',
      '--dir',
      dir,
      '--workload',
      values.workload,
      '--rate',
      String(rate),
      '--duration',
      String(duration),
      '--concurrency',
      String(Math.max(Number(values.concurrency), rate * 4)),
      '--json',
    ]);
    const r = JSON.parse(out.trim().split('\n').pop()!);
    const pass = r.committed >= r.txs * RATE_COMMIT_SHARE && Number(r.latencyMs?.p99) <= p99Ms;
    steps.push({
      rate,
      pass,
      committedPerSec: r.committedPerSec,
      offeredPerSec: r.offeredPerSec,
      committed: r.committed,
      txs: r.txs,
      latencyMs: r.latencyMs,
    });
    return pass;
  };
  let good = 0;
  let bad = Number(values['rate-start']);
  while (await step(bad)) {
    good = bad;
    bad *= 2;
  }
  for (let i = 0; i < RATE_BISECT_STEPS && bad - good > 1; i++) {
    const mid = Math.round((good + bad) / 2);
    if (await step(mid)) good = mid;
    else bad = mid;
  }
  const best = steps.find((s) => s.pass && s.rate === good);
  return { p99TargetMs: p99Ms, durationSec: duration, highestRate: good, atHighest: best, steps };
}

/**
 * How many of a chain's blocks were decided in round 0 and how many needed more rounds (read
 * from each block's last commit): a round that fails is time in which the chain commits nothing,
 * so this shows whether chains on one node get in each other's way.
 */
async function roundCensus(rpc: string, chain: string | undefined): Promise<unknown> {
  const base = chain ? `${rpc}/v1/chains/${chain}` : `${rpc}/v1`;
  const get = async (path: string): Promise<any> => {
    const r = await fetch(`${base}${path}`);
    if (!r.ok) throw new Error(`${base}${path}: ${r.status}`);
    return r.json();
  };
  const head = (await get('/blocks/latest')).header.height as number;
  const rounds: Record<string, number> = {};
  for (let h = 2; h <= head; h++) {
    const c = (await get(`/blocks/${h}`)).lastCommit;
    if (!c) continue;
    rounds[c.round] = (rounds[c.round] ?? 0) + 1;
  }
  return { blocks: head - 1, byRound: rounds };
}

/** Sets `logLevel` in every node's node.json. */
function setLogLevel(dir: string, nodeCount: number, level: string): void {
  for (let k = 1; k <= nodeCount; k++) {
    const file = join(dir, 'nodes', `node${k}`, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), logLevel: level }, null, 2),
    );
  }
}

/** Ids of the chains beyond the first for a run of `n` chains (none on a solo node). */
function extraChains(n: number, nodeCount: number): string[] {
  if (n > 1 && nodeCount < 2) throw new Error('--chains needs --nodes 2 or more');
  return Array.from({ length: Math.max(0, n - 1) }, (_, i) => `bench-${i + 2}`);
}

/**
 * Several chains' bench results as one: every tx committed on any chain over the wall time of
 * the slowest (they start together), and the per-chain results.
 */
function combine(profile: string, perChain: Array<Record<string, any>>): unknown {
  const committed = perChain.reduce((n, r) => n + Number(r.committed ?? 0), 0);
  const durationSec = Math.max(...perChain.map((r) => Number(r.durationSec ?? 0)));
  return {
    crypto: profile,
    chains: perChain.length,
    committed,
    durationSec,
    committedPerSec: durationSec > 0 ? Math.round((committed / durationSec) * 10) / 10 : 0,
    perChain,
  };
}

/**
 * Where the machine's CPU went during the load: each node's CPU seconds (includes signing up
 * the txs of the bench's setup, a small share), their sum per 1,000 committed txs, and how
 * busy the whole machine was (1 = every core busy). Comparing CPU per tx between 1 and N
 * chains tells duplicated work from idle time.
 */
function cpuReport(
  nodeSec: number[],
  perChain: Array<Record<string, any>>,
  machineBefore: ReturnType<typeof machineJiffies>,
): unknown {
  const committed = perChain.reduce((n, r) => n + Number(r.committed ?? 0), 0);
  const sum = nodeSec.reduce((a, b) => a + b, 0);
  const after = machineJiffies();
  const busy =
    machineBefore && after && after.total > machineBefore.total
      ? (after.busy - machineBefore.busy) / (after.total - machineBefore.total)
      : undefined;
  return {
    nodeSec: nodeSec.map((s) => Math.round(s * 10) / 10),
    nodeMsPerTx: committed > 0 ? Math.round((sum / committed) * 1e6) / 1e3 : undefined,
    machineBusy: busy === undefined ? undefined : Math.round(busy * 1000) / 1000,
  };
}

/** One bench run: a fresh network of `chainCount` chains under `profile`, every chain loaded. */
async function runOnce(profile: string, chainCount: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), `archi-bench-${profile}-`));
  try {
    const nodeCount = Number(values.nodes);
    await run(['init', '--dir', dir, '--orgs', String(nodeCount), '--crypto', profile]);
    const gas = values['max-block-gas'];
    if (gas) setMaxBlockGas(join(dir, 'genesis.json'), gas);
    const chainIds = [undefined, ...extraChains(chainCount, nodeCount)];
    for (const id of chainIds.slice(1)) {
      const orgs = Array.from({ length: nodeCount }, (_, k) => `org${k + 1}`).join(',');
      await run(['chain', 'new', '--dir', dir, '--name', id!, '--orgs', orgs]);
      if (gas) setMaxBlockGas(join(dir, 'chains', id!, 'genesis.json'), gas);
      for (let k = 1; k <= nodeCount; k++) {
        const config = join(dir, 'nodes', `node${k}`, 'node.json');
        await run(['chain', 'join', '--config', config, '--chain', id!]);
      }
    }
    if (values['log-level']) setLogLevel(dir, nodeCount, values['log-level']);
    const nodes = spawnNodes(dir, nodeCount, {
      cpuProfDir: values['cpu-prof'],
      logs: values.logs ? { dir: values.logs, prefix: profile } : undefined,
    });
    try {
      const rpcs = await waitNodes(nodes);
      const [rpc] = rpcs;
      const cpuBefore = await Promise.all(rpcs.map(nodeCpuSeconds));
      const machineBefore = machineJiffies();
      // Every chain loaded at once, each through another node so no one RPC carries it all.
      const outs = await Promise.all(
        chainIds.map((chain, i) =>
          run([
            'bench',
            '--dir',
            dir,
            '--workload',
            values.workload,
            '--txs',
            values.txs,
            '--concurrency',
            values.concurrency,
            '--batch',
            values.batch,
            '--node',
            `node${(i % nodeCount) + 1}`,
            ...(chain ? ['--chain', chain] : []),
            '--json',
          ]),
        ),
      );
      const perChain = outs.map((out) => JSON.parse(out.trim().split('\n').pop()!));
      const cpu = cpuReport(
        (await Promise.all(rpcs.map(nodeCpuSeconds))).map((s, k) => s - cpuBefore[k]),
        perChain,
        machineBefore,
      );
      if (nodeCount > 1)
        for (const [i, r] of perChain.entries()) r.rounds = await roundCensus(rpc, chainIds[i]);
      const result = perChain.length === 1 ? perChain[0] : combine(profile, perChain);
      const findRateMs = values['find-rate'];
      const rateSearch =
        findRateMs && chainCount === 1 ? await findRate(dir, Number(findRateMs)) : undefined;
      return { ...(result as object), cpu, ...(rateSearch ? { rateSearch } : {}) };
    } finally {
      await stopProcesses(nodes);
    }
  } catch (e) {
    return { crypto: profile, chains: chainCount, error: (e as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Middle value (mean of the two middle ones for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * With several chain counts or --repeat: per profile and chain count, the median committed/s
 * and CPU per tx over the runs, and each count's median as a share of one chain's.
 */
function summarize(runs: Array<Record<string, any>>): unknown {
  const out: unknown[] = [];
  for (const profile of profiles) {
    const rows = chainCounts.map((chains) => {
      const mine = runs.filter(
        (r) => r.crypto === profile && (r.chains ?? 1) === chains && r.error === undefined,
      );
      return {
        chains,
        runs: mine.length,
        committedPerSec: mine.map((r) => r.committedPerSec),
        medianCommittedPerSec: mine.length ? median(mine.map((r) => r.committedPerSec)) : null,
        medianNodeMsPerTx: mine.length ? median(mine.map((r) => r.cpu.nodeMsPerTx)) : null,
      };
    });
    const one = rows.find((r) => r.chains === 1)?.medianCommittedPerSec;
    out.push({
      crypto: profile,
      byChains: rows.map((r) => ({
        ...r,
        shareOfOneChain:
          one && r.medianCommittedPerSec !== null
            ? Math.round((r.medianCommittedPerSec / one) * 1000) / 1000
            : undefined,
      })),
    });
  }
  return out;
}

const profiles = values.profiles.split(',');
const chainCounts = values.chains.split(',').map(Number);
if (chainCounts.some((n) => !Number.isSafeInteger(n) || n < 1)) {
  throw new Error(`--chains takes counts like 1 or 1,2, not ${values.chains}`);
}
const repeat = Number(values.repeat);
const results: Array<Record<string, unknown>> = [];
// Runs alternate (1, 2, 1, 2, ...) so a machine that speeds up or slows down over the
// session weighs on every chain count alike.
for (let i = 0; i < repeat; i++)
  for (const profile of profiles)
    for (const chains of chainCounts) results.push(await runOnce(profile, chains));

const several = chainCounts.length > 1 || repeat > 1;
const chainsText =
  values.chains === '1' ? '' : `, ${values.chains} chains on every node, all loaded at once`;
const report = {
  scenario:
    values.nodes === '1'
      ? 'solo node, one process, client on the same machine'
      : `${values.nodes}-organization BFT network, one process per node${chainsText}, client on the same machine${repeat > 1 ? `, ${repeat} runs of each, alternating` : ''}`,
  date: new Date().toISOString(),
  machine: machineInfo(),
  commit: gitCommit(),
  ...(values['max-block-gas'] ? { maxBlockGas: values['max-block-gas'] } : {}),
  ...(several ? { summary: summarize(results) } : {}),
  results,
};
writeReport(
  `${values.nodes === '1' ? 'solo' : `bft${values.nodes}`}${values.chains === '1' ? '' : `x${values.chains.replace(/,/g, '-')}`}-${values.workload}`,
  report,
);
