/**
 * A newcomer's path through the CLI, in both crypto profiles and both identity modes:
 * up -> tx send --wait -> query --prove -> kill -9 -> up again -> same value, same root.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { archiJson, kill9, kvPut, removeDir, stopAll, tempDir, up } from './harness.ts';

const combos: Array<[string, string]> = [
  ['standard', 'cert'],
  ['gm', 'cert'],
  ['standard', 'key'],
  ['gm', 'key'],
];

describe('solo network lifecycle through the CLI', { concurrency: 2 }, () => {
  const dirs: string[] = [];
  after(async () => {
    await stopAll();
    for (const d of dirs) removeDir(d);
  });

  for (const [crypto, identity] of combos) {
    test(`${crypto} profile, ${identity} identities`, async () => {
      const dir = tempDir(`archi-${crypto}-${identity}-`);
      dirs.push(dir);
      const first = await up(dir, ['--nodes', '1', '--crypto', crypto, '--identity', identity]);
      const status = await archiJson(['status', '--dir', dir]);
      assert.equal(status.nodes.length, 1);
      assert.equal(status.nodes[0].up, true);

      const receipt = await kvPut(
        dir,
        JSON.stringify({ key: 'city', value: { code: 'MA.156.1301.02', n: 7 } }),
      );
      assert.equal(receipt.status, 'ok', JSON.stringify(receipt));
      assert.match(receipt.txId, /^[0-9a-f]{64}$/);
      const height = receipt.height;
      assert.ok(height >= 1);

      const q = await archiJson([
        'query',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'get',
        '--args',
        '{"key":"city"}',
        '--prove',
      ]);
      assert.deepEqual(q.result, { code: 'MA.156.1301.02', n: 7 });
      assert.equal(q.verified, true);

      const absent = await archiJson([
        'query',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'get',
        '--args',
        '{"key":"nowhere"}',
        '--prove',
      ]);
      assert.equal(absent.result, null);
      assert.equal(absent.verified, true);

      const block = await archiJson(['block', 'get', String(height), '--dir', dir]);
      assert.equal(block.height, height);
      assert.match(block.stateRoot, /^[0-9a-f]{64}$/);
      const tx = await archiJson(['tx', 'get', receipt.txId, '--dir', dir]);
      assert.equal(tx.height, height);

      await kill9(first.pid);
      assert.equal(await first.proc.exited, 1, 'up exits non-zero when its only node dies');

      const second = await up(dir);
      const again = await archiJson([
        'query',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'get',
        '--args',
        '{"key":"city"}',
        '--prove',
      ]);
      assert.deepEqual(again.result, { code: 'MA.156.1301.02', n: 7 });
      assert.equal(again.verified, true);
      const blockAgain = await archiJson(['block', 'get', String(height), '--dir', dir]);
      assert.equal(blockAgain.stateRoot, block.stateRoot);
      assert.equal(blockAgain.hash, block.hash);
      const txAgain = await archiJson(['tx', 'get', receipt.txId, '--dir', dir]);
      assert.equal(txAgain.receipt.status, 'ok');

      // The restarted node keeps producing blocks on top of what it had.
      const next = await kvPut(dir, '{"key":"after","value":1}');
      assert.ok(next.height > height);
      assert.equal(await second.proc.stop(), 0, 'up stops cleanly on SIGTERM');
    });
  }
});
