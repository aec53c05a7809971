/**
 * In-process cost of the chain's hot path, without HTTP: admission (checkTx), block
 * execution and the LMDB commit, for token transfers or calls of the example counter
 * contract (`contracts/counter.ts`, as `archi bench --workload contract` calls it), with the
 * gas the receipts charge: the figures a block gas limit is sized from. Prints JSON; not a test.
 * Usage: node --import tsx bench/chain-inproc.ts [--profile standard|gm] [--workload transfer|contract]
 *   [--txs 20000] [--block 1000]
 */
import { parseArgs } from 'node:util';
import { CommitSchema, create } from '../src/codec/index.ts';
import { buildTx, type TxFields } from '../src/types/tx.ts';
import { buildContract } from '../src/vm/sandbox/build.ts';
import { initSandbox } from '../src/vm/sandbox/host.ts';
import { makeFixture } from '../test/unit/chain-fixture.ts';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'standard' },
    workload: { type: 'string', default: 'transfer' },
    txs: { type: 'string', default: '20000' },
    block: { type: 'string', default: '1000' },
  },
});
const workload = values.workload;
if (workload !== 'transfer' && workload !== 'contract') {
  throw new Error('--workload must be transfer or contract');
}
const fx = makeFixture(values.profile as 'standard' | 'gm');
const chain = fx.open();
const n = Number(values.txs);
const per = Number(values.block);
const commit = (p: ReturnType<typeof chain.proposeBlock>) =>
  chain.commitBlock(p, create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }));
let call: () => Pick<TxFields, 'contract' | 'method' | 'args'>;
if (workload === 'transfer') {
  await fx.admin.send(chain, {
    contract: 'token',
    method: 'mint',
    args: { to: fx.admin.address, amount: String(n * 10) },
  });
  const rnd = () =>
    Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
  call = () => ({ contract: 'token', method: 'transfer', args: { to: rnd(), amount: '1' } });
} else {
  await initSandbox();
  const { code } = await buildContract('contracts/counter.ts');
  await fx.admin.send(chain, {
    contract: 'contract_manage',
    method: 'deploy',
    args: { name: 'counter', code },
  });
  // The bench's own call: `archi bench --workload contract` sends increment with {}.
  call = () => ({ contract: 'counter', method: 'increment', args: {} });
}
const setup = fx.commit(chain, Date.now());
if (setup.result.receipts[0].status !== 0) {
  throw new Error(`setup tx failed: ${setup.result.receipts[0].message}`);
}
const txs = Array.from(
  { length: n },
  () =>
    buildTx(fx.profile, fx.admin.signer, {
      chainId: 'unit',
      sender: { org: 'org1', cert: fx.admin.cert },
      ...call(),
    }).bytes,
);
let admit = 0;
let exec = 0;
let commitMs = 0;
let nodes = 0;
let gas = 0n;
let failed = 0;
for (let i = 0; i < n; i += per) {
  let t = performance.now();
  await Promise.all(txs.slice(i, i + per).map((tx) => chain.submitTx(tx)));
  admit += performance.now() - t;
  t = performance.now();
  const p = chain.proposeBlock(Date.now(), new Uint8Array(20));
  exec += performance.now() - t;
  nodes += p.result.treeNodes.length;
  for (const r of p.result.receipts) {
    gas += r.gasUsed;
    if (r.status !== 0) failed++;
  }
  t = performance.now();
  commit(p);
  commitMs += performance.now() - t;
}
const us = (ms: number) => Math.round((ms * 1000) / n);
const gasPerTx = Number(gas) / n;
console.log(
  JSON.stringify({
    profile: values.profile,
    workload,
    txs: n,
    blockTxs: per,
    failed,
    usPerTx: {
      admit: us(admit),
      execute: us(exec),
      commit: us(commitMs),
      total: us(admit + exec + commitMs),
    },
    gasPerTx: Math.round(gasPerTx),
    // Gas a proposer's block execution gets through per millisecond (tree and roots included).
    gasPerExecMs: Math.round(Number(gas) / exec),
    treeNodesPerTx: +(nodes / n).toFixed(1),
  }),
);
await fx.cleanup();
process.exit(0);
