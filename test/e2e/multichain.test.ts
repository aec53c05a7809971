/**
 * Many chains on one set of node processes (issue 11, part 3): 4 organizations; chain alpha
 * (standard, all 4 orgs, the network's first chain) and chain beta (gm, orgs 1-3) on the same
 * 4 node processes; txs to both commit; node4 does not host beta and is told nothing of it.
 * kill -9 node2: both chains go on; restarted, it catches up on both. A third chain, gamma,
 * made while the nodes run, commits blocks without any node process restarting.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { archi, archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import {
  block,
  crash,
  fastTimeouts,
  initNetwork,
  type NetNode,
  startNode,
  waitUntil,
} from './network.ts';

const dir = tempDir('archi-multichain-');
after(async () => {
  await stopAll();
  removeDir(dir);
});

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

/** The chain's height on the node (under /v1/chains/<id>/), or -1 when it does not answer. */
async function heightOf(n: NetNode, chain: string): Promise<number> {
  try {
    const { status, body } = await getJson(`${n.rpc}/v1/chains/${chain}/status`);
    return status === 200 ? body.height : -1;
  } catch {
    return -1;
  }
}

async function waitHeights(nodes: NetNode[], chain: string, h: number, ms = 90_000) {
  for (const n of nodes) {
    await waitUntil(
      async () => (await heightOf(n, chain)) >= h,
      `${n.name} at height ${h} of ${chain}`,
      ms,
      200,
    );
  }
}

/** The block hash of `chain` at `h` on every node: one hash. */
async function sameBlock(nodes: NetNode[], chain: string, h: number): Promise<void> {
  const hashes = await Promise.all(
    nodes.map(async (n) => (await getJson(`${n.rpc}/v1/chains/${chain}/blocks/${h}`)).body.hash),
  );
  assert.equal(new Set(hashes).size, 1, `${chain} at ${h}: ${hashes.join(' ')}`);
  assert.match(hashes[0], /^[0-9a-f]{64}$/);
}

function kvPut(chain: string, key: string, value: string, as = 'org1/client'): Promise<any> {
  return archiJson([
    'tx',
    'send',
    '--dir',
    dir,
    '--chain',
    chain,
    '--as',
    as,
    '--contract',
    'kv',
    '--method',
    'put',
    '--args',
    JSON.stringify({ key, value }),
    '--wait',
    '--timeout',
    '60000',
  ]);
}

async function kvGet(chain: string, key: string): Promise<unknown> {
  const q = await archiJson([
    'query',
    '--dir',
    dir,
    '--chain',
    chain,
    '--contract',
    'kv',
    '--method',
    'get',
    '--args',
    JSON.stringify({ key }),
    '--prove',
  ]);
  assert.equal(q.verified, true);
  return q.result;
}

function pids(nodes: NetNode[]): number[] {
  return nodes.map((n) => n.proc?.child.pid ?? -1);
}

test('alpha and beta on the same 4 processes; node2 crashes and catches up; gamma joins live', async () => {
  const nodes = await initNetwork(dir, 4, ['--chain', 'alpha']);
  const [n1, n2, n3, n4] = nodes;

  // beta: gm, orgs 1-3. Three validators of equal power need all three for a BFT quorum
  // (more than 2/3 of the power), so node2 gets a smaller share: node1 and node3 (20 of 25)
  // then carry beta on while node2 is down, as alpha's three other nodes (30 of 40) do.
  const made = await archi([
    'chain',
    'new',
    '--dir',
    dir,
    '--name',
    'beta',
    '--crypto',
    'gm',
    '--orgs',
    'org1,org2,org3',
    '--power',
    'org2=5',
  ]);
  assert.equal(made.code, 0, made.stderr);
  fastTimeouts(join(dir, 'chains', 'beta', 'genesis.json'));
  for (const n of [n1, n2, n3]) {
    const j = await archiJson(['chain', 'join', '--config', n.config, '--chain', 'beta']);
    assert.deepEqual([j.changed, j.running], [true, false]);
  }
  const refused = await archi(['chain', 'join', '--config', n4.config, '--chain', 'beta']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /INVALID_ARGS: node4 \(org4\) is not a member of chain beta/);

  for (const n of nodes) await startNode(n);
  await waitHeights(nodes, 'alpha', 2);
  await waitHeights([n1, n2, n3], 'beta', 2);

  // Each chain's own profile and state: a gm tx on beta, a standard one on alpha, same key.
  const b = await kvPut('beta', 'city', 'Fez', 'org2/client');
  assert.equal(b.status, 'ok');
  const a = await kvPut('alpha', 'city', 'Rabat', 'org4/client');
  assert.equal(a.status, 'ok');
  assert.equal(await kvGet('beta', 'city'), 'Fez');
  assert.equal(await kvGet('alpha', 'city'), 'Rabat');
  const betaStatus = (await getJson(`${n1.rpc}/v1/chains/beta/status`)).body;
  assert.deepEqual([betaStatus.chainId, betaStatus.crypto], ['beta', 'gm']);

  // node4 does not host beta.
  const n4chains = (await getJson(`${n4.rpc}/v1/chains`)).body.chains.map((c: any) => c.id);
  assert.deepEqual(n4chains, ['alpha']);
  const missing = await getJson(`${n4.rpc}/v1/chains/beta/status`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'CHAIN_NOT_FOUND');

  // status --json: nodes[].height etc. are the first chain's, nodes[].chains every chain's.
  const st = await archiJson(['status', '--dir', dir]);
  assert.equal(st.answering, 4);
  for (const row of st.nodes) {
    assert.equal(row.chainId, 'alpha');
    const ids = row.chains.map((c: any) => c.id);
    assert.deepEqual(ids, row.name === 'node4' ? ['alpha'] : ['alpha', 'beta']);
    const alpha = row.chains[0];
    assert.equal(alpha.height, row.height, 'read in the same answer');
    assert.deepEqual(Object.keys(row.chains[0]).sort(), [
      'consensus',
      'crypto',
      'hash',
      'height',
      'id',
      'round',
      'stateRoot',
      'validator',
    ]);
  }
  const stBeta = await archiJson(['status', '--dir', dir, '--chain', 'beta']);
  assert.deepEqual(
    stBeta.nodes.map((r: any) => [r.name, r.chainId]),
    [
      ['node1', 'beta'],
      ['node2', 'beta'],
      ['node3', 'beta'],
    ],
  );

  // kill -9 node2: both chains go on without it.
  await crash(n2);
  const alphaAt = await heightOf(n1, 'alpha');
  const betaAt = await heightOf(n1, 'beta');
  await waitHeights([n1, n3, n4], 'alpha', alphaAt + 3);
  await waitHeights([n1, n3], 'beta', betaAt + 3);
  assert.equal((await kvPut('beta', 'while', 'node2 down')).status, 'ok');
  assert.equal((await kvPut('alpha', 'while', 'node2 down')).status, 'ok');

  // Restarted, node2 catches up on both chains: the same block at a common height.
  await startNode(n2);
  for (const chain of ['alpha', 'beta']) {
    const target = await heightOf(n1, chain);
    await waitHeights([n2], chain, target);
    await sameBlock(chain === 'alpha' ? nodes : [n1, n2, n3], chain, target);
  }
  assert.equal((await block(n2, 1)).header.chainId, 'alpha');

  // node4 was told nothing of beta. What shows from outside: nodes 1-3 send a chain's
  // messages only to its members, and a node counts every p2p message that no chain of its
  // own reads (archi_p2p_messages_dropped_total, by reason) and logs once per peer and chain
  // when a peer sends messages of a chain it does not host. So node4's counter stays at
  // zero and no line of its output names beta; its RPC and log know only alpha.
  const metrics = await (await fetch(`${n4.rpc}/metrics`)).text();
  const dropped = metrics.match(/^archi_p2p_messages_dropped_total\{[^}]*\} (\d+)/gm) ?? [];
  assert.deepEqual(dropped, [], `node4 dropped messages: ${dropped.join('; ')}`);
  const told = `${n4.proc?.out}\n${n4.proc?.err}`.split('\n').filter((l) => /beta/.test(l));
  assert.deepEqual(told, []);

  // gamma, made while every node runs, joined by `archi up` on the running network: it
  // commits blocks and no node process restarts.
  const before = pids(nodes);
  const gamma = await archi([
    'chain',
    'new',
    '--dir',
    dir,
    '--name',
    'gamma',
    '--orgs',
    'org2,org3,org4',
  ]);
  assert.equal(gamma.code, 0, gamma.stderr);
  fastTimeouts(join(dir, 'chains', 'gamma', 'genesis.json'));
  const up = await archi(['up', '--dir', dir, '--no-console'], { timeoutMs: 180_000 });
  assert.equal(up.code, 0, `${up.stdout}${up.stderr}`);
  assert.match(up.stdout, /node4 hosts chain gamma now/);
  assert.match(up.stdout, /network alpha is already running/);
  await waitHeights([n2, n3, n4], 'gamma', 3);
  assert.equal((await kvPut('gamma', 'third', 'chain', 'org3/client')).status, 'ok');
  assert.deepEqual(pids(nodes), before, 'no node process was restarted');
  for (const n of nodes) assert.equal(n.proc?.child.exitCode, null, `${n.name} still runs`);
  assert.deepEqual(
    (await getJson(`${n1.rpc}/v1/chains`)).body.chains.map((c: any) => c.id),
    ['alpha', 'beta'],
  );

  const list = await archiJson(['chain', 'list', '--dir', dir]);
  const hosts = Object.fromEntries(
    list.chains.map((c: any) => [
      c.id,
      c.nodes.filter((x: any) => x.hosts).map((x: any) => x.name),
    ]),
  );
  assert.deepEqual(hosts, {
    alpha: ['node1', 'node2', 'node3', 'node4'],
    beta: ['node1', 'node2', 'node3'],
    gamma: ['node2', 'node3', 'node4'],
  });
});
