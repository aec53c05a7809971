/**
 * TypeScript contracts on a 4-organization BFT network: every validator re-executes the
 * same calls in its own sandbox and all end with identical blocks and state roots.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import { archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import { initNetwork, type NetNode, sameChain, startNode, status, waitHeight } from './network.ts';

let dir: string;
let nodes: NetNode[];
before(async () => {
  dir = tempDir('archi-contracts-bft-');
  nodes = await initNetwork(dir, 4);
  await Promise.all(nodes.map(startNode));
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

test('the same contract calls give identical state roots on all 4 validators', async () => {
  for (const name of ['counter', 'asset']) {
    await archiJson([
      'contract',
      'deploy',
      name,
      `contracts/${name}.ts`,
      '--dir',
      dir,
      '--node',
      'node2',
    ]);
  }
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  const user = (org: string, name: string) =>
    Identity.fromUserDir(genesis.crypto, org, join(dir, 'orgs', org, 'users', name));
  const admin = user('org1', 'admin');
  const client = user('org2', 'client');
  const send = async (
    node: NetNode,
    who: Identity,
    contract: string,
    method: string,
    args: unknown,
  ) => {
    const tx = buildAndSign(who, genesis.chainId, { contract, method, args });
    const r = await fetch(`${node.rpc}/v1/txs?wait=true&timeoutMs=60000`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: tx.bytes,
    });
    return (await r.json()) as { height: number; receipt: { status: string; code: string } };
  };
  const issued = await send(nodes[2], admin, 'asset', 'issue', {
    to: client.address,
    amount: '1000',
  });
  assert.equal(issued.receipt.status, 'ok', JSON.stringify(issued));
  // Then calls spread over all nodes, landing in whatever blocks they land in.
  const results = await Promise.all([
    send(nodes[0], client, 'asset', 'transfer', { to: admin.address, amount: '125' }),
    ...Array.from({ length: 12 }, (_, i) =>
      send(nodes[i % 4], i % 2 ? admin : client, 'counter', 'increment', { by: i + 1 }),
    ),
  ]);
  for (const r of results) assert.equal(r.receipt.status, 'ok', JSON.stringify(r));
  const top = Math.max(...results.map((r) => r.height));
  await Promise.all(nodes.map((n) => waitHeight(n, top)));
  await sameChain(nodes, top);
  for (const n of nodes) {
    const q = await archiJson([
      'query',
      '--dir',
      dir,
      '--node',
      n.name,
      '--contract',
      'counter',
      '--method',
      'get',
      '--prove',
    ]);
    assert.equal(q.result, 78, `${n.name} counter`);
    assert.equal(q.verified, true);
  }
  const bal = await archiJson([
    'query',
    '--dir',
    dir,
    '--node',
    'node4',
    '--contract',
    'asset',
    '--method',
    'balance',
    '--args',
    JSON.stringify({ owner: client.address }),
  ]);
  assert.equal(bal.result, '875');
  assert.ok((await status(nodes[0])).height >= top);
});
