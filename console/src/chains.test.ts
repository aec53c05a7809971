/** The console's view of which node hosts which chain (chains.ts), without a browser. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChainSummaryJson, StatusJson } from '../../src/types/rpc-json.ts';
import { chainPrefix } from './api.ts';
import { chainChoices, chainsOf, discovered, type NodeView, nodeHosts } from './chains.ts';

const summary = (id: string, height = 1, crypto: 'standard' | 'gm' = 'standard') =>
  ({
    id,
    height,
    hash: '00',
    stateRoot: '00',
    round: 0,
    validator: true,
    crypto,
    consensus: 'solo',
  }) satisfies ChainSummaryJson;

const nodes = [
  { name: 'node1', rpc: 'http://a' },
  { name: 'node2', rpc: 'http://b' },
  { name: 'node3', rpc: 'http://c' },
];

describe('console chains', () => {
  it('reads the chains of a status, or the chain of a node from before many chains', () => {
    const st = {
      chainId: 'alpha',
      height: 7,
      crypto: 'gm',
      consensus: 'tbft',
      round: 2,
    } as StatusJson;
    assert.deepEqual(
      chainsOf(st).map((c) => [c.id, c.height, c.crypto, c.round]),
      [['alpha', 7, 'gm', 2]],
    );
    assert.deepEqual(chainsOf({ ...st, chains: [summary('alpha'), summary('beta')] }).length, 2);
  });

  it('lists the union of the chains, the first chain first, with the nodes that host each', () => {
    const views = new Map<string, NodeView>([
      ['node1', { chains: [summary('alpha')], checkedAt: 1 }],
      ['node2', { chains: [summary('alpha'), summary('beta', 3, 'gm')], checkedAt: 1 }],
      // node3 has not answered yet: taken to host the first chain only.
    ]);
    const choices = chainChoices('alpha', nodes, views);
    assert.deepEqual(
      choices.map((c) => [c.id, c.hosts, c.crypto ?? null]),
      [
        ['alpha', ['node1', 'node2', 'node3'], 'standard'],
        ['beta', ['node2'], 'gm'],
      ],
    );
    assert.equal(nodeHosts(views.get('node1'), 'beta', 'alpha'), false);
    assert.equal(nodeHosts(undefined, 'alpha', 'alpha'), true);
    assert.equal(nodeHosts(undefined, 'beta', 'alpha'), false);
    assert.equal(discovered(nodes, views), false);
    views.set('node3', { error: 'down', checkedAt: 2 });
    assert.equal(discovered(nodes, views), true);
    // A node whose first chain is another still lists the network's first chain first.
    const other = chainChoices(
      'alpha',
      nodes,
      new Map([['node1', { chains: [summary('beta')], checkedAt: 1 }]]),
    );
    assert.deepEqual(
      other.map((c) => [c.id, c.hosts]),
      [
        ['alpha', ['node2', 'node3']],
        ['beta', ['node1']],
      ],
    );
  });

  it('asks a node its first chain under /v1 and any other under /v1/chains/<id>', () => {
    assert.equal(chainPrefix('alpha', 'alpha'), '/v1');
    assert.equal(chainPrefix(undefined, 'alpha'), '/v1');
    assert.equal(chainPrefix('beta', 'alpha'), '/v1/chains/beta');
    assert.equal(chainPrefix('a b', 'alpha'), '/v1/chains/a%20b');
  });
});
