/**
 * Proposals name their block's txs by id. On a 4-node network where one node's pool holds
 * only 20 txs (node.json `mempool`), that node lacks most txs of the others' proposals: it
 * must ask its peers for them, and still take part in consensus on every block, committing the
 * same chain as the rest.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { archiJson, removeDir, tempDir } from './harness.ts';
import {
  initNetwork,
  logLines,
  type NetNode,
  sameChain,
  startNode,
  status,
  waitHeight,
} from './network.ts';

describe('compact proposals on a real network', () => {
  let dir: string;
  let nodes: NetNode[];
  before(async () => {
    dir = tempDir('archi-compact-');
    nodes = await initNetwork(dir);
    const small = nodes[3];
    const cfg = JSON.parse(readFileSync(small.config, 'utf8'));
    writeFileSync(
      small.config,
      JSON.stringify({ ...cfg, logLevel: 'debug', mempool: { maxTxs: 20 } }, null, 2),
    );
    await Promise.all(nodes.map(startNode));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.proc?.stop()));
    removeDir(dir);
  });

  test('a node lacking the txs fetches them and commits the same blocks', async () => {
    const r = await archiJson([
      'bench',
      '--dir',
      dir,
      '--node',
      nodes[0].name,
      '--workload',
      'transfer',
      '--txs',
      '1500',
      '--concurrency',
      '64',
      '--batch',
      '50',
    ]);
    assert.equal(r.committed, 1500, JSON.stringify(r));
    const head = (await status(nodes[0])).height;
    for (const n of nodes) await waitHeight(n, head);
    await sameChain(nodes, head);
    const fetched = logLines(nodes[3], 'compact proposal made whole with fetched txs');
    assert.ok(fetched.length > 0, 'the small-pool node asked its peers for txs');
    const synced = logLines(nodes[3], 'decided block not held: syncing it');
    assert.ok(
      synced.length < fetched.length,
      `blocks came by consensus, not block sync (${synced.length} synced, ${fetched.length} fetched)`,
    );
  });
});
