/**
 * How validators get and check blocks, on one 4-node BFT network: two nodes validate on
 * execution threads (node.json `execThreads`) and two on their own thread only; one of the
 * latter has a pool of 20 txs (node.json `mempool`), so it lacks most txs that the others'
 * compact proposals name and must fetch them from its peers. Under kv writes, transfers and
 * contract calls sent to one node, every node commits the same blocks, the threaded nodes'
 * metrics show blocks validated in parallel with none handed back to the node thread, and the
 * small-pool node takes part in consensus instead of falling back to block sync.
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

describe('parallel validation and compact proposals on a real network', () => {
  let dir: string;
  let nodes: NetNode[];
  before(async () => {
    dir = tempDir('archi-validation-');
    nodes = await initNetwork(dir);
    nodes.forEach((n, i) => {
      const cfg = JSON.parse(readFileSync(n.config, 'utf8'));
      const extra =
        i < 2
          ? { execThreads: 2 }
          : i === 2
            ? { execThreads: 0 }
            : {
                execThreads: 0,
                logLevel: 'debug',
                mempool: { maxTxs: 20 },
              };
      writeFileSync(n.config, JSON.stringify({ ...cfg, ...extra }, null, 2));
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

  test('every node commits the same blocks, however it validated or assembled them', async () => {
    for (const [workload, txs] of [
      ['kv', 3000],
      ['transfer', 1500],
      ['contract', 600],
    ] as const) {
      const r = await archiJson([
        'bench',
        '--dir',
        dir,
        '--node',
        nodes[0].name,
        '--workload',
        workload,
        '--txs',
        String(txs),
        '--concurrency',
        '64',
        '--batch',
        '50',
      ]);
      assert.equal(r.committed, txs, `${workload}: ${JSON.stringify(r)}`);
    }
    const head = (await status(nodes[0])).height;
    for (const n of nodes) await waitHeight(n, head);
    await sameChain(nodes, head);

    for (const n of nodes.slice(0, 2)) {
      assert.ok((await metric(n, 'blocks')) > 0, `${n.name} validated blocks on its threads`);
      assert.ok((await metric(n, 'txs')) >= 64, `${n.name} ran txs on its threads`);
      assert.equal(await metric(n, 'fallbacks'), 0, `${n.name} handed no block back`);
    }
    for (const n of nodes.slice(2)) assert.equal(await metric(n, 'blocks'), 0);

    const small = nodes[3];
    const fetched = logLines(small, 'compact proposal made whole with fetched txs');
    assert.ok(fetched.length > 0, 'the small-pool node asked its peers for txs');
    const synced = logLines(small, 'decided block not held: syncing it');
    assert.ok(
      synced.length < fetched.length,
      `blocks came by consensus, not block sync (${synced.length} synced, ${fetched.length} fetched)`,
    );
  });
});
