/**
 * `npm run bench`: starts a solo node per crypto profile in a temp dir, runs
 * `archi bench --workload transfer` against it, prints one JSON document and writes it
 * under bench/results/. Timings never fail anything.
 * --nodes 4 runs the same against a 4-organization BFT network (4 processes).
 * Options: --txs N (default 30000), --concurrency C (default 256), --batch B (default 1),
 * --profiles standard,gm, --workload transfer|kv
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ARCHI = fileURLToPath(new URL('../bin/archi.js', import.meta.url));
const { values } = parseArgs({
  options: {
    txs: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '256' },
    profiles: { type: 'string', default: 'standard,gm' },
    workload: { type: 'string', default: 'transfer' },
    batch: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '1' },
  },
});

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [ARCHI, ...args],
      { maxBuffer: 64 << 20, timeout: 600_000 },
      (err, out, errOut) =>
        err ? reject(new Error(`archi ${args.join(' ')}: ${errOut || err.message}`)) : resolve(out),
    ),
  );
}

async function waitFor(child: ChildProcess, re: RegExp): Promise<void> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      if (re.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
}

const results: unknown[] = [];
for (const profile of values.profiles.split(',')) {
  const dir = mkdtempSync(join(tmpdir(), `archi-bench-${profile}-`));
  try {
    const nodeCount = Number(values.nodes);
    await run(['init', '--dir', dir, '--orgs', String(nodeCount), '--crypto', profile]);
    const nodes = Array.from({ length: nodeCount }, (_, k) =>
      spawn(
        process.execPath,
        [ARCHI, 'node', 'start', '--config', join(dir, 'nodes', `node${k + 1}`, 'node.json')],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    );
    try {
      await Promise.all(nodes.map((node, k) => waitFor(node, new RegExp(`node${k + 1} rpc`))));
      const out = await run([
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
        '--json',
      ]);
      results.push(JSON.parse(out.trim().split('\n').pop()!));
    } finally {
      await Promise.all(
        nodes.map((node) => {
          node.kill('SIGTERM');
          return new Promise((r) => node.once('exit', r));
        }),
      );
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
      : `${values.nodes}-organization BFT network, one process per node, client on the same machine`,
  date: new Date().toISOString(),
  machine: {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  commit: (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })(),
  results,
};
const dirOut = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dirOut, { recursive: true });
const file = join(
  dirOut,
  `${values.nodes === '1' ? 'solo' : `bft${values.nodes}`}-${values.workload}-${report.date.replace(/[:.]/g, '-')}.json`,
);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
console.error(`written to ${file}`);
