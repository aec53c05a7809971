/**
 * `npm run bench`: starts a solo node per crypto profile in a temp dir, runs
 * `archi bench --workload transfer` against it, prints one JSON document and writes it
 * under bench/results/. Timings never fail anything.
 * --nodes 4 runs the same against a 4-organization BFT network (4 processes).
 * --chains 2 (with --nodes > 1) makes the nodes host that many chains (all orgs, the same
 * profile; `archi chain new` + `chain join`) and loads every chain at once with the same
 * offered load each: the result sums what they commit together, to compare with one chain.
 * Options: --txs N (default 30000), --concurrency C (default 256), --batch B (default 1),
 * --profiles standard,gm, --workload transfer|kv, --logs DIR (each node's log to DIR/nodeN.log),
 * --cpu-prof DIR (each node's V8 CPU profile, written when it stops)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  gitCommit,
  machineInfo,
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
    logs: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});

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

/** Ids of the chains beyond the first for --chains (none on a solo node). */
function extraChains(_dir: string, nodeCount: number): string[] {
  const n = Number(values.chains);
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

const results: unknown[] = [];
for (const profile of values.profiles.split(',')) {
  const dir = mkdtempSync(join(tmpdir(), `archi-bench-${profile}-`));
  try {
    const nodeCount = Number(values.nodes);
    await run(['init', '--dir', dir, '--orgs', String(nodeCount), '--crypto', profile]);
    const chainIds = [undefined, ...extraChains(dir, nodeCount)];
    for (const id of chainIds.slice(1)) {
      const orgs = Array.from({ length: nodeCount }, (_, k) => `org${k + 1}`).join(',');
      await run(['chain', 'new', '--dir', dir, '--name', id!, '--orgs', orgs]);
      for (let k = 1; k <= nodeCount; k++) {
        const config = join(dir, 'nodes', `node${k}`, 'node.json');
        await run(['chain', 'join', '--config', config, '--chain', id!]);
      }
    }
    const nodes = spawnNodes(dir, nodeCount, {
      cpuProfDir: values['cpu-prof'],
      logs: values.logs ? { dir: values.logs, prefix: profile } : undefined,
    });
    try {
      const [rpc] = await waitNodes(nodes);
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
      if (nodeCount > 1)
        for (const [i, r] of perChain.entries()) r.rounds = await roundCensus(rpc, chainIds[i]);
      results.push(perChain.length === 1 ? perChain[0] : combine(profile, perChain));
    } finally {
      await stopProcesses(nodes);
    }
  } catch (e) {
    results.push({ crypto: profile, error: (e as Error).message });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const report = {
  scenario:
    values.nodes === '1'
      ? 'solo node, one process, client on the same machine'
      : `${values.nodes}-organization BFT network, one process per node${values.chains === '1' ? '' : `, ${values.chains} chains on every node, all loaded at once`}, client on the same machine`,
  date: new Date().toISOString(),
  machine: machineInfo(),
  commit: gitCommit(),
  results,
};
writeReport(
  `${values.nodes === '1' ? 'solo' : `bft${values.nodes}`}${values.chains === '1' ? '' : `x${values.chains}`}-${values.workload}`,
  report,
);
