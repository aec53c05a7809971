/**
 * A 4-node BFT network where two nodes validate blocks on execution threads (node.json
 * `execThreads`) and two on their own thread only: under kv writes, transfers and contract
 * calls, every node commits the same blocks, and the threaded nodes' metrics show blocks
 * validated in parallel with none handed back to the node thread.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { archiJson, removeDir, tempDir } from './harness.ts';
import { initNetwork, type NetNode, sameChain, startNode, status } from './network.ts';

describe('parallel block validation on a real network', () => {
  let dir: string;
  let nodes: NetNode[];
  before(async () => {
    dir = tempDir('archi-parallel-');
    nodes = await initNetwork(dir);
    nodes.forEach((n, i) => {
      const cfg = JSON.parse(readFileSync(n.config, 'utf8'));
      writeFileSync(n.config, JSON.stringify({ ...cfg, execThreads: i < 2 ? 2 : 0 }, null, 2));
    });
    await Promise.all(nodes.map(startNode));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.proc?.stop()));
    removeDir(dir);
  });

  const metric = async (n: NetNode, what: string): Promise<number> => {
    const text = await (await fetch(`${n.rpc}/metrics`)).text();
    const m = text.match(new RegExp(`^archi_exec_parallel\\{what="${what}"\\} (\\d+)`, 'm'));
    return m ? Number(m[1]) : 0;
  };

  test('threaded and unthreaded validators commit the same blocks', async () => {
    for (const [workload, txs, batch] of [
      ['kv', 3000, 50],
      ['transfer', 2000, 50],
      ['contract', 600, 50],
    ] as const) {
      const r = await archiJson([
        'bench',
        '--dir',
        dir,
        '--workload',
        workload,
        '--txs',
        String(txs),
        '--concurrency',
        '64',
        '--batch',
        String(batch),
      ]);
      assert.equal(r.committed, txs, `${workload}: ${JSON.stringify(r)}`);
    }
    const head = Math.min(...(await Promise.all(nodes.map(async (n) => (await status(n)).height))));
    await sameChain(nodes, head);
    for (const n of nodes.slice(0, 2)) {
      assert.ok((await metric(n, 'blocks')) > 0, `${n.name} validated blocks on its threads`);
      assert.ok((await metric(n, 'txs')) >= 64, `${n.name} ran txs on its threads`);
      assert.equal(await metric(n, 'fallbacks'), 0, `${n.name} handed no block back`);
    }
    for (const n of nodes.slice(2)) assert.equal(await metric(n, 'blocks'), 0);
  });
});
