/**
 * Validation of a block in parallel along its tx dependency graph against validation on one
 * thread, in process on real LMDB files: a proposer cuts blocks, then validators with 0 (serial),
 * 1, 2, ... execution threads each validate and commit the same blocks. The validators have
 * admitted the txs first (as gossip makes them do), so signatures are already verified unless
 * `--cold-sigs`. Workloads: `kv` (kv.put of distinct keys: no conflicts), `registry` (the
 * example registry contract registering distinct names: no conflicts), `transfer` (token
 * transfers from 32 funded senders: 32 chains), `counter` (the counter contract: one chain).
 * Prints JSON; not a test.
 * Usage: node --import tsx bench/parallel-exec.ts [--workload kv|registry|transfer|counter]
 *   [--blocks 5] [--block 2000] [--threads 1,2] [--cold-sigs]
 */
import { parseArgs } from 'node:util';
import type { Chain } from '../src/chain/chain.ts';
import type { Commit } from '../src/codec/index.ts';
import { buildTx, type TxFields } from '../src/types/tx.ts';
import { buildContract } from '../src/vm/sandbox/build.ts';
import { initSandbox } from '../src/vm/sandbox/host.ts';
import { makeFixture, type Member } from '../test/unit/chain-fixture.ts';

const { values } = parseArgs({
  options: {
    workload: { type: 'string', default: 'kv' },
    blocks: { type: 'string', default: '5' },
    block: { type: 'string', default: '2000' },
    threads: { type: 'string', default: '1,2' },
    'cold-sigs': { type: 'boolean', default: false },
  },
});
const workload = values.workload!;
if (!['kv', 'registry', 'transfer', 'counter'].includes(workload)) {
  throw new Error('--workload must be kv, registry, transfer or counter');
}
const blocks = Number(values.blocks);
const per = Number(values.block);
const threadCounts = values.threads!.split(',').map(Number);

await initSandbox();
const fx = makeFixture('standard', { orgs: workload === 'transfer' ? 16 : 1 });
const proposer = fx.open();
const validators: Array<{ threads: number; chain: Chain; ms: number[] }> = [0, ...threadCounts].map(
  (threads) => ({
    threads,
    chain: fx.open(undefined, threads > 0 ? { execThreads: threads, execMinTxs: 1 } : {}),
    ms: [],
  }),
);
for (const v of validators) {
  while (v.threads > 0 && !v.chain.executor.parallel?.ready)
    await new Promise((r) => setTimeout(r, 50));
}
let time = Date.now();
let lastCommit: Commit | undefined;

/** Cut a block of what the proposer's pool holds; every validator validates and commits it. */
function cut(timed: boolean): number {
  time = Math.max(time + 1, Date.now());
  const p = proposer.proposeBlock(time, fx.validator, lastCommit);
  const commit = fx.signedCommit(proposer, p.height, p.blockHash, time);
  lastCommit = commit;
  proposer.commitBlock(p, commit);
  for (const v of validators) {
    const t = performance.now();
    const checked = v.chain.validateBlock(p.blockBytes);
    if (timed) v.ms.push(performance.now() - t);
    v.chain.commitBlock(checked, commit);
  }
  const failed = p.result.receipts.filter((r) => r.status !== 0);
  if (failed.length > 0) throw new Error(`${failed.length} txs failed: ${failed[0].message}`);
  return p.txs.length;
}

const senders: Member[] = fx.orgs.map((o) => o.admin);
const setup: Array<Pick<TxFields, 'contract' | 'method' | 'args'> & { who: Member }> = [];
if (workload === 'registry' || workload === 'counter') {
  const name = workload;
  const { code } = await buildContract(`contracts/${name}.ts`);
  setup.push({
    who: fx.admin,
    contract: 'contract_manage',
    method: 'deploy',
    args: { name, code },
  });
}
if (workload === 'transfer') {
  for (const s of senders) {
    setup.push({
      who: s,
      contract: 'token',
      method: 'mint',
      args: { to: s.address, amount: String(blocks * per * 10) },
    });
  }
}
for (const s of setup) await s.who.send(proposer, s);
if (setup.length > 0) cut(false);

let n = 0;
const call = (): Pick<TxFields, 'contract' | 'method' | 'args'> => {
  const i = n++;
  if (workload === 'kv') return { contract: 'kv', method: 'put', args: { key: `k${i}`, value: i } };
  if (workload === 'registry') {
    return { contract: 'registry', method: 'register', args: { name: `n${i}`, value: i } };
  }
  if (workload === 'counter') return { contract: 'counter', method: 'increment', args: {} };
  return {
    contract: 'token',
    method: 'transfer',
    args: { to: `${i}`.padStart(40, '7'), amount: '1' },
  };
};

let txs = 0;
for (let b = 0; b < blocks; b++) {
  const batch = Array.from({ length: per }, (_, i) => {
    const who = senders[i % senders.length];
    return buildTx(fx.profile, who.signer, {
      chainId: 'unit',
      sender: { org: fx.orgs[i % senders.length].id, cert: who.cert },
      ...call(),
    }).bytes;
  });
  await Promise.all(batch.map((tx) => proposer.submitTx(tx)));
  if (!values['cold-sigs']) {
    for (const v of validators) await Promise.all(batch.map((tx) => v.chain.submitTx(tx)));
  }
  txs += cut(true);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const serialMs = median(validators[0].ms);
console.log(
  JSON.stringify(
    {
      bench: 'parallel-exec',
      date: new Date().toISOString(),
      workload,
      blocks,
      txsPerBlock: txs / blocks,
      coldSignatures: values['cold-sigs'],
      cores: (await import('node:os')).availableParallelism(),
      validators: validators.map((v) => ({
        threads: v.threads,
        medianBlockMs: Math.round(median(v.ms) * 10) / 10,
        txsPerSecond: Math.round((txs / blocks / median(v.ms)) * 1000),
        speedup: Math.round((serialMs / median(v.ms)) * 100) / 100,
        ranOnThreads: v.chain.executor.parallel?.stats,
      })),
    },
    null,
    2,
  ),
);
await fx.cleanup();
