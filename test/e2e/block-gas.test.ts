/**
 * A real solo node whose genesis sets the smallest block gas limit: under a burst of TypeScript
 * contract calls, every committed block's receipts charge at most the limit (a block of one tx
 * excepted), the config shows it, and every call commits.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArchiClient } from '../../src/sdk/client.ts';
import { archi, archiJson, removeDir, stopAll, tempDir, up } from './harness.ts';

const LIMIT = 1_000_000;

describe('block gas limit on a real node', () => {
  let dir: string;
  let rpc: string;
  before(async () => {
    dir = tempDir('archi-gas-');
    const init = await archi(['init', '--dir', dir, '--orgs', '1', '--consensus', 'solo']);
    assert.equal(init.code, 0, init.stderr);
    const file = join(dir, 'genesis.json');
    const genesis = JSON.parse(readFileSync(file, 'utf8'));
    genesis.params.maxBlockGas = LIMIT;
    writeFileSync(file, JSON.stringify(genesis, null, 2));
    ({ rpc } = await up(dir));
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  test('contract calls in batches: no committed block charges more gas than maxBlockGas', async (t) => {
    const client = new ArchiClient(rpc);
    assert.equal((await client.config()).params?.maxBlockGas, LIMIT);
    // About 5,600 gas a call: 800 of them need several blocks at this limit.
    const r = await archiJson([
      'bench',
      '--dir',
      dir,
      '--workload',
      'contract',
      '--txs',
      '800',
      '--concurrency',
      '800',
      '--batch',
      '100',
    ]);
    assert.equal(r.committed, 800, JSON.stringify(r));
    const head = (await client.getBlock('latest')).height;
    let calls = 0;
    let largest = 0;
    for (let h = 1; h <= head; h++) {
      const block = await client.getBlock(h);
      if (block.txs.length === 0) continue;
      const receipts = await Promise.all(
        block.txs.map(async (t) => (await client.getTx(t.txId)).receipt),
      );
      const gas = receipts.reduce((n, x) => n + x.gasUsed, 0);
      assert.ok(
        gas <= LIMIT || block.txs.length === 1,
        `block ${h}: ${block.txs.length} txs charge ${gas} gas`,
      );
      calls += block.txs.filter((t) => t.method === 'increment').length;
      largest = Math.max(largest, block.txs.length);
    }
    assert.equal(calls, 800);
    t.diagnostic(`${head} blocks, the largest of ${largest} txs`);
  });
});
