/**
 * Parallel block execution against serial execution, over random workloads: transfers between
 * hot and cold accounts (some overdrawn), kv writes and deletes on hot and cold keys, calls of a
 * counter (one hot key) and of a registry (one key per name, listed by prefix), and txs that
 * fail. A proposer runs each block serially and records its dependency graph; a validator with
 * execution threads runs it in parallel along that graph and must reach the same receipts and
 * roots (validateBlock refuses any difference), as must a validator without threads. A graph
 * with an edge missing or added is refused by both. `PARALLEL_SEED=n` replays a run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Chain } from '../../src/chain/chain.ts';
import {
  BlockSchema,
  type Commit,
  create,
  decode,
  encode,
  HeaderSchema,
} from '../../src/codec/index.ts';
import { decodeGraph, encodeGraph } from '../../src/app/tx-dag.ts';
import { buildContract } from '../../src/vm/sandbox/build.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { type Fixture, makeFixture, type Member } from './chain-fixture.ts';
import { prng } from '../prng.ts';

const SEED = Number(process.env.PARALLEL_SEED ?? Math.floor(Math.random() * 2 ** 31));

let fx: Fixture;
let proposer: Chain;
let parallel: Chain;
let serial: Chain;
let members: Member[];
let time = Date.now();
let lastCommit: Commit | undefined;

/** Submit `send`'s txs to the proposer, cut a block, have both validators check and commit it. */
async function block(send: () => Promise<unknown>[]): Promise<{ bytes: Uint8Array; txs: number }> {
  await Promise.all(send());
  time += 1000;
  const p = proposer.proposeBlock(time, fx.validator, lastCommit);
  const commit = fx.signedCommit(proposer, p.height, p.blockHash, time);
  lastCommit = commit;
  proposer.commitBlock(p, commit);
  for (const v of [parallel, serial]) v.commitBlock(v.validateBlock(p.blockBytes), commit);
  return { bytes: p.blockBytes, txs: p.txs.length };
}

before(async () => {
  await initSandbox();
  fx = makeFixture('standard', { orgs: 4 });
  members = fx.orgs.flatMap((o) => [o.admin, o.client]);
  proposer = fx.open();
  parallel = fx.open(undefined, { execThreads: 2, execMinTxs: 2 });
  serial = fx.open();
  const deadline = Date.now() + 30_000;
  while (!parallel.executor.parallel?.ready) {
    assert.ok(Date.now() < deadline, 'execution threads did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const code = async (file: string) => (await buildContract(file)).code;
  const counter = await code('contracts/counter.ts');
  const registry = await code('contracts/registry.ts');
  await block(() => [
    fx.admin.send(proposer, {
      contract: 'contract_manage',
      method: 'deploy',
      args: { name: 'counter', code: counter },
    }),
    fx.admin.send(proposer, {
      contract: 'contract_manage',
      method: 'deploy',
      args: { name: 'registry', code: registry },
    }),
    ...fx.orgs.map((o) =>
      o.admin.send(proposer, {
        contract: 'token',
        method: 'mint',
        args: { to: o.admin.address, amount: '1000000' },
      }),
    ),
  ]);
});

after(() => fx?.cleanup());

/** One random tx of the workload. */
function randomTx(rand: () => number, n: number): Promise<unknown> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const who = pick(members);
  const hot = rand() < 0.3;
  const key = hot ? `hot${Math.floor(rand() * 2)}` : `cold${n}-${Math.floor(rand() * 1e9)}`;
  const kind = rand();
  const f =
    kind < 0.3
      ? {
          contract: 'token',
          method: 'transfer',
          args: {
            to: hot ? pick(members).address : `${Math.floor(rand() * 1e12)}`.padStart(40, '7'),
            // Clients hold nothing: their transfers fail, after reading their balance.
            amount: String(1 + Math.floor(rand() * 500)),
          },
        }
      : kind < 0.5
        ? { contract: 'kv', method: 'put', args: { key, value: n } }
        : kind < 0.6
          ? { contract: 'kv', method: 'delete', args: { key } }
          : kind < 0.7
            ? { contract: 'counter', method: 'increment', args: { by: 1 + (n % 3) } }
            : kind < 0.85
              ? { contract: 'registry', method: 'register', args: { name: key, value: n } }
              : kind < 0.95
                ? { contract: 'registry', method: 'list', args: {} }
                : { contract: 'kv', method: 'nope', args: {} };
  // A tx that is refused at admission (e.g. a read-only method) is part of the workload too.
  return who.send(proposer, f).catch(() => undefined);
}

test(`parallel and serial execution agree on random workloads (seed ${SEED})`, async () => {
  const rand = prng(SEED);
  const stats = parallel.executor.parallel!.stats;
  let n = 0;
  let committed = 0;
  for (let round = 0; round < 8; round++) {
    const size = 20 + Math.floor(rand() * 200);
    const { txs } = await block(() => Array.from({ length: size }, () => randomTx(rand, n++)));
    assert.ok(txs > 0, `round ${round} committed no tx`);
    committed += txs;
  }
  assert.equal(stats.fallbacks, 0, 'every block ran on the threads');
  assert.ok(stats.blocks >= 8, `blocks run in parallel: ${stats.blocks}`);
  assert.ok(stats.txs >= committed, `txs run in parallel: ${stats.txs} of ${committed}`);
  for (const c of [parallel, serial]) {
    assert.equal(c.latestHeader.stateRoot, proposer.latestHeader.stateRoot);
    assert.deepEqual(c.latestHash, proposer.latestHash);
  }
});

test('a block whose graph lacks an edge, or has one too many, is refused', async () => {
  const rand = prng(SEED + 1);
  let n = 1e6;
  await Promise.all(Array.from({ length: 60 }, () => randomTx(rand, n++)));
  // One hot key makes sure the graph has edges to tamper with.
  for (let i = 0; i < 5; i++) {
    await members[0].send(proposer, { contract: 'counter', method: 'increment', args: null });
  }
  time += 1000;
  const p = proposer.proposeBlock(time, fx.validator, lastCommit);
  const header = decode(HeaderSchema, p.block.header);
  const dag = decodeGraph(p.block.dag, p.txs.length);
  const withEdge = dag.findIndex((d) => d.length > 0);
  const withoutEdge = dag.findIndex((d, i) => i > 0 && d.length === 0);
  assert.ok(withEdge > 0 && withoutEdge > 0, 'the block has txs with and without dependencies');
  const tampered = (change: (g: number[][]) => void) => {
    const g = dag.map((d) => [...d]);
    change(g);
    const bytes = encodeGraph(g);
    const h = encode(
      HeaderSchema,
      create(HeaderSchema, { ...header, dagHash: proposer.profile.hash(bytes) }),
    );
    return encode(BlockSchema, create(BlockSchema, { ...p.block, header: h, dag: bytes }));
  };
  const cases: Array<[string, Uint8Array]> = [
    ['an edge missing', tampered((g) => g[withEdge].pop())],
    ['an edge too many', tampered((g) => g[withoutEdge].push(0))],
  ];
  const before = parallel.executor.parallel!.stats.blocks;
  for (const [name, bytes] of cases) {
    for (const [who, v] of [
      ['parallel', parallel],
      ['serial', serial],
    ] as const) {
      assert.throws(
        () => v.validateBlock(bytes),
        (e: Error & { code?: string }) =>
          e.code === 'BLOCK_INVALID' && /dependency graph/.test(e.message),
        `${name}: ${who} validator`,
      );
    }
  }
  assert.equal(parallel.executor.parallel!.stats.blocks, before + 2, 'the threads ran both');
  // The untampered block still passes on both.
  for (const v of [parallel, serial]) v.validateBlock(p.blockBytes);
});
