/**
 * Against a real solo node: WebSocket subscriptions deliver blocks, tx results and contract
 * events as they commit; metrics are served; `archi bench` runs end to end (single and
 * batched submission, both workloads, and at a fixed rate) and prints its JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ArchiClient } from '../../src/sdk/client.ts';
import type { BlockPush, EventPush, TxPush } from '../../src/sdk/types.ts';
import { archiJson, kvPut, removeDir, stopAll, tempDir, up } from './harness.ts';

describe('subscriptions, metrics and bench on a real node', () => {
  let dir: string;
  let rpc: string;
  before(async () => {
    dir = tempDir('archi-ws-');
    ({ rpc } = await up(dir, ['--nodes', '1']));
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  test('blocks, txs and events arrive over the WebSocket', async () => {
    const client = new ArchiClient(rpc);
    const blocks: BlockPush[] = [];
    const txs: TxPush[] = [];
    const events: EventPush[] = [];
    const offs = [
      await client.subscribe('blocks', {}, (b: BlockPush) => blocks.push(b)),
      await client.subscribe('txs', {}, (t: TxPush) => txs.push(t)),
      await client.subscribe('events', { contract: 'kv', name: 'put' }, (e: EventPush) =>
        events.push(e),
      ),
      await client.subscribe('events', { contract: 'token' }, (e: EventPush) => events.push(e)),
    ];
    try {
      const r = await kvPut(dir, '{"key":"ws","value":"hello"}');
      const deadline = Date.now() + 10_000;
      while (
        (events.length === 0 || txs.length === 0 || blocks.length === 0) &&
        Date.now() < deadline
      ) {
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(
        blocks.some((b) => b.height === r.height && b.txCount >= 1),
        'block pushed',
      );
      const pushed = txs.find((t) => t.txId === r.txId);
      assert.equal(pushed?.receipt.status, 'ok');
      assert.deepEqual(
        events.map((e) => [e.contract, e.name, e.data, e.txId]),
        [['kv', 'put', { key: 'ws' }, r.txId]],
        'only the subscribed contract events arrive',
      );
    } finally {
      for (const off of offs) off();
    }
  });

  test('a bad subscription message gets an error and the socket stays usable', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${rpc.replace('http', 'ws')}/v1/ws`);
    await new Promise((res, rej) => ws.once('open', res).once('error', rej));
    const answers: any[] = [];
    ws.on('message', (d) => answers.push(JSON.parse(d.toString())));
    ws.send('not json');
    ws.send(JSON.stringify({ op: 'subscribe', topic: 'nope' }));
    ws.send(JSON.stringify({ op: 'subscribe', topic: 'blocks' }));
    const deadline = Date.now() + 5000;
    while (answers.length < 3 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    ws.close();
    assert.equal(answers[0].op, 'error');
    assert.equal(answers[0].error.code, 'BAD_REQUEST');
    assert.equal(answers[1].op, 'error');
    assert.equal(answers[2].op, 'subscribed');
  });

  test('metrics are served in Prometheus format', async () => {
    const text = await (await fetch(`${rpc}/metrics`)).text();
    assert.match(text, /^archi_block_height \d+/m);
    assert.match(text, /archi_txs_committed_total\{status="ok"\} \d+/);
  });

  for (const [workload, batch] of [
    ['transfer', '1'],
    ['kv', '25'],
  ]) {
    test(`archi bench --workload ${workload} --batch ${batch}`, async () => {
      const r = await archiJson([
        'bench',
        '--dir',
        dir,
        '--workload',
        workload,
        '--txs',
        '400',
        '--concurrency',
        '16',
        '--batch',
        batch,
      ]);
      assert.equal(r.workload, workload);
      assert.equal(r.txs, 400);
      assert.equal(r.committed, 400, JSON.stringify(r));
      assert.equal(r.failed, 0);
      assert.ok(r.committedPerSec > 0);
      assert.ok(r.latencyMs.p50 <= r.latencyMs.p99);
    });
  }

  test('archi bench --rate R --duration S offers R txs/s for S seconds', async () => {
    const r = await archiJson(['bench', '--dir', dir, '--rate', '100', '--duration', '3']);
    assert.equal(r.txs, 300);
    assert.equal(r.rate, 100);
    assert.equal(r.committed, 300, JSON.stringify(r));
    // Tx i may not go out before i / rate seconds: the last one (299) not before 2.99 s, so the
    // sending rate cannot exceed the asked one (by more than the clock's rounding).
    assert.ok(r.offeredPerSec <= 100.5, JSON.stringify(r));
    assert.ok(r.durationSec >= 2.99, JSON.stringify(r));
  });

  test('archi bench refuses --duration without --rate and --txs with it', async () => {
    for (const args of [
      ['--duration', '3'],
      ['--rate', '10', '--txs', '50'],
    ]) {
      await assert.rejects(archiJson(['bench', '--dir', dir, ...args]), /INVALID_ARGS/);
    }
  });
});
