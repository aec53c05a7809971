/**
 * `node --import tsx bench/sdk-batch.ts`: token transfers into a solo node through the SDK's
 * ArchiClient, one tx per request against batches (issue 17). Per mode a fresh node, N
 * transfers signed before the clock starts, then:
 * - `single`: submitTx, C calls in flight (fetch, one request per tx);
 * - `auto`: submitTx, C calls in flight, on a client with `batch: {maxTxs: B}` (coalesced into
 *   batch requests on its one kept-alive connection);
 * - `explicit`: submitBatch of B txs a request, one request at a time on one connection.
 * Commits are counted from a `txs` subscription. Prints one JSON document (submit and commit
 * rates per mode, the node's CPU per tx) and writes it under bench/results/; timings never
 * fail anything. The modes alternate with --repeat, so a machine that speeds up or slows down
 * weighs on each alike.
 * Options: --txs N (default 20000), --concurrency C (256), --batch B (500), --crypto standard|gm,
 * --modes single,auto,explicit, --repeat R (1).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ArchiClient } from '../src/sdk/client.ts';
import { buildAndSign, Identity } from '../src/sdk/identity.ts';
import type { TxPush } from '../src/sdk/types.ts';
import { ArchiError } from '../src/types/errors.ts';
import {
  Cleanup,
  gitCommit,
  machineInfo,
  nodeCpuSeconds,
  runArchi,
  spawnNodes,
  waitNodes,
  writeReport,
} from './harness.ts';

const { values } = parseArgs({
  options: {
    txs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '256' },
    batch: { type: 'string', default: '500' },
    crypto: { type: 'string', default: 'standard' },
    modes: { type: 'string', default: 'single,auto,explicit' },
    repeat: { type: 'string', default: '1' },
  },
});

type Mode = 'single' | 'auto' | 'explicit';
const txCount = Number(values.txs);
const concurrency = Number(values.concurrency);
const batch = Number(values.batch);
const modes = values.modes.split(',') as Mode[];
for (const m of modes) {
  if (!['single', 'auto', 'explicit'].includes(m)) throw new Error(`unknown mode ${m}`);
}
/** Stop waiting for commits after this long without one. */
const IDLE_MS = 60_000;

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** One mode on a fresh solo node: submit and commit rates. */
async function runMode(mode: Mode, cleanup: Cleanup): Promise<Record<string, unknown>> {
  const dir = cleanup.dir(mkdtempSync(join(tmpdir(), 'archi-sdk-batch-')));
  await runArchi(['init', '--dir', dir, '--orgs', '1', '--crypto', values.crypto], cleanup);
  const nodes = spawnNodes(dir, 1).map((n) => cleanup.process(n));
  const [rpc] = await waitNodes(nodes);
  const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  const admin = Identity.fromUserDir(
    net.crypto,
    'org1',
    join(dir, 'orgs/org1/users/admin'),
    net.identityMode,
  );
  const reader = new ArchiClient(rpc);
  const { chainId } = await reader.status();
  const mint = buildAndSign(admin, chainId, {
    contract: 'token',
    method: 'mint',
    args: { to: admin.address, amount: String(txCount) },
  });
  await reader.submitTx(mint.bytes, { wait: true, timeoutMs: 60_000 });
  const txs = Array.from({ length: txCount }, () =>
    buildAndSign(admin, chainId, {
      contract: 'token',
      method: 'transfer',
      args: { to: randomBytes(20).toString('hex'), amount: 1 },
    }),
  );
  const ours = new Set(txs.map((t) => t.txIdHex));
  let committed = 0;
  let lastCommit = 0;
  const unsubscribe = await reader.subscribe('txs', {}, (d: TxPush) => {
    if (!ours.delete(d.txId)) return;
    if (d.receipt?.status === 'ok') committed++;
    lastCommit = performance.now();
  });
  const client = new ArchiClient(
    rpc,
    mode === 'auto' ? { batch: { maxTxs: batch, maxDelayMs: 5 } } : {},
  );
  const errors: Record<string, number> = {};
  const refused = (e: unknown): void => {
    const code = e instanceof ArchiError ? e.code : 'THROWN';
    errors[code] = (errors[code] ?? 0) + 1;
  };
  const cpuBefore = await nodeCpuSeconds(rpc);
  const t0 = performance.now();
  let accepted = 0;
  if (mode === 'explicit') {
    for (let i = 0; i < txCount; i += batch) {
      try {
        const results = await client.submitBatch(txs.slice(i, i + batch).map((t) => t.bytes));
        for (const r of results)
          if (r.error) refused(r.error);
          else accepted++;
      } catch (e) {
        refused(e);
      }
    }
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < txCount) {
        const t = txs[next++];
        try {
          await client.submitTx(t.bytes);
          accepted++;
        } catch (e) {
          refused(e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, txCount) }, worker));
  }
  const submitted = performance.now();
  lastCommit = Math.max(lastCommit, submitted);
  while (committed < accepted && performance.now() - lastCommit < IDLE_MS) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const nodeCpu = (await nodeCpuSeconds(rpc)) - cpuBefore;
  unsubscribe();
  client.close();
  reader.close();
  await cleanup.run();
  const submitSec = (submitted - t0) / 1000;
  const commitSec = (Math.max(lastCommit, submitted) - t0) / 1000;
  return {
    mode,
    txs: txCount,
    concurrency: mode === 'explicit' ? 1 : concurrency,
    batch: mode === 'single' ? 1 : batch,
    accepted,
    committed,
    errors,
    submitSec: Math.round(submitSec * 1000) / 1000,
    submitPerSec: round1(accepted / submitSec),
    commitSec: Math.round(commitSec * 1000) / 1000,
    committedPerSec: round1(committed / commitSec),
    nodeMsPerTx: committed > 0 ? Math.round((nodeCpu / committed) * 1e6) / 1e3 : null,
  };
}

// One handler for every mode's cleanup: Cleanup.onSignals per mode would leave spent handlers.
let current: Cleanup | undefined;
const onSignal = (signal: NodeJS.Signals): void => {
  process.stderr.write(`\n${signal}: stopping the node and removing its dir\n`);
  void (current?.run() ?? Promise.resolve()).finally(() =>
    process.exit(signal === 'SIGINT' ? 130 : 143),
  );
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const results: Array<Record<string, unknown>> = [];
for (let i = 0; i < Number(values.repeat); i++) {
  for (const mode of modes) {
    const cleanup = new Cleanup();
    current = cleanup;
    try {
      results.push(await runMode(mode, cleanup));
    } catch (e) {
      results.push({ mode, error: (e as Error).message });
    } finally {
      await cleanup.run();
    }
    process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
  }
}
const report = {
  scenario:
    'solo node, one process; token transfers through the SDK from a client on the same machine',
  date: new Date().toISOString(),
  machine: machineInfo(),
  commit: gitCommit(),
  results,
};
writeReport(`sdk-batch-${values.crypto}`, report);
