/**
 * In-process cost of the chain's hot path, without HTTP: admission (checkTx), block
 * execution and the LMDB commit, for token transfers. Prints JSON; not a test.
 * Usage: node --import tsx bench/chain-inproc.ts [--profile standard|gm] [--txs 20000] [--block 1000]
 */
import { parseArgs } from 'node:util';
import { buildTx } from '../src/types/tx.ts';
import { makeFixture } from '../test/unit/chain-fixture.ts';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'standard' },
    txs: { type: 'string', default: '20000' },
    block: { type: 'string', default: '1000' },
  },
});
const fx = makeFixture(values.profile as 'standard' | 'gm');
const chain = fx.open();
const n = Number(values.txs);
const per = Number(values.block);
await fx.admin.send(chain, {
  contract: 'token',
  method: 'mint',
  args: { to: fx.admin.address, amount: String(n * 10) },
});
fx.commit(chain, Date.now());
const rnd = () =>
  Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
const txs = Array.from(
  { length: n },
  () =>
    buildTx(fx.profile, fx.admin.signer, {
      chainId: 'unit',
      sender: { org: 'org1', cert: fx.admin.cert },
      contract: 'token',
      method: 'transfer',
      args: { to: rnd(), amount: '1' },
    }).bytes,
);
let admit = 0;
let exec = 0;
let commit = 0;
let nodes = 0;
for (let i = 0; i < n; i += per) {
  let t = performance.now();
  await Promise.all(txs.slice(i, i + per).map((tx) => chain.submitTx(tx)));
  admit += performance.now() - t;
  t = performance.now();
  const p = chain.proposeBlock(Date.now(), new Uint8Array(20));
  exec += performance.now() - t;
  nodes += p.result.treeNodes.length;
  t = performance.now();
  const { create, CommitSchema } = await import('../src/codec/index.ts');
  chain.commitBlock(p, create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }));
  commit += performance.now() - t;
}
const us = (ms: number) => Math.round((ms * 1000) / n);
console.log(
  JSON.stringify({
    profile: values.profile,
    txs: n,
    blockTxs: per,
    usPerTx: {
      admit: us(admit),
      execute: us(exec),
      commit: us(commit),
      total: us(admit + exec + commit),
    },
    treeNodesPerTx: +(nodes / n).toFixed(1),
  }),
);
await fx.cleanup();
