import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { quantile, runBench } from '../../src/cli/commands/bench.ts';
import { decode, TxBatchSchema } from '../../src/codec/index.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { decodeTx } from '../../src/types/tx.ts';
import { tempDir, writeUser } from './fixtures.ts';

const profile = getProfile('standard');
const root = tempDir('archi-bench-');
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A fake chain: accepts txs one per request or in batches (rejecting every 7th one with
 * MEMPOOL_FULL once), cuts a block every 20 ms, serves blocks over HTTP and, when `ws` is set,
 * pushes tx results on /v1/ws. `batches` counts the batch requests.
 */
async function fakeChain(opts: { ws: boolean }) {
  const pending: string[] = [];
  const blocks: Array<{ height: number; txs: string[] }> = [{ height: 0, txs: [] }];
  const seen = new Set<string>();
  let posts = 0;
  let batches = 0;
  /** One tx's answer: its id, or the error the node would send. */
  const admit = (
    bytes: Uint8Array,
  ): { txId?: string; error?: { code: string; message: string } } => {
    const t = decodeTx(profile, bytes);
    posts++;
    // Back-pressure on some first attempts: the bench must retry these.
    if (posts % 7 === 0 && !seen.has(t.txIdHex)) {
      seen.add(t.txIdHex);
      return { error: { code: 'MEMPOOL_FULL', message: 'full' } };
    }
    if (t.payload.method === 'bad') return { error: { code: 'INVALID_ARGS', message: 'bad' } };
    pending.push(t.txIdHex);
    return { txId: t.txIdHex };
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = req.url!.split('?')[0];
      if (path === '/v1/status') {
        return send(200, { chainId: 'bench-chain', height: blocks.length - 1, crypto: 'standard' });
      }
      if (req.method === 'POST' && path === '/v1/txs') {
        const bytes = new Uint8Array(Buffer.concat(chunks));
        if (req.url!.includes('wait=true')) {
          const t = decodeTx(profile, bytes);
          blocks.push({ height: blocks.length, txs: [t.txIdHex] });
          return send(200, {
            txId: t.txIdHex,
            height: blocks.length - 1,
            receipt: { status: 'ok', code: '', message: '', gasUsed: 1, result: null, events: [] },
          });
        }
        const a = admit(bytes);
        if (a.txId) return send(202, a);
        return send(a.error!.code === 'MEMPOOL_FULL' ? 503 : 400, a);
      }
      if (req.method === 'POST' && path === '/v1/txs/batch') {
        batches++;
        const { txs } = decode(TxBatchSchema, Buffer.concat(chunks));
        return send(200, { results: txs.map(admit) });
      }
      const m = /^\/v1\/blocks\/(latest|[0-9]+)$/.exec(path);
      if (m) {
        const b = m[1] === 'latest' ? blocks.at(-1)! : blocks[Number(m[1])];
        if (!b) return send(404, { error: { code: 'NOT_FOUND', message: 'no block' } });
        return send(200, { height: b.height, txs: b.txs.map((txId) => ({ txId })) });
      }
      send(404, { error: { code: 'NOT_FOUND', message: path } });
    });
  });
  const wss = opts.ws ? new WebSocketServer({ server, path: '/v1/ws' }) : undefined;
  const subs = new Set<import('ws').WebSocket>();
  wss?.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      subs.add(ws);
      ws.send(JSON.stringify({ op: 'subscribed', topic: msg.topic }));
    });
  });
  const timer = setInterval(() => {
    const txs = pending.splice(0, pending.length);
    const height = blocks.length;
    blocks.push({ height, txs });
    for (const ws of subs) {
      for (const txId of txs) {
        ws.send(
          JSON.stringify({
            topic: 'txs',
            data: { txId, height, receipt: { status: 'ok', code: '' } },
          }),
        );
      }
    }
  }, 20);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches: () => batches,
    async close() {
      clearInterval(timer);
      for (const ws of subs) ws.terminate();
      wss?.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('archi bench', () => {
  const user = writeUser(profile, root, 'org1', 'admin');
  const identity = Identity.fromUserDir('standard', 'org1', user.dir);

  it('computes nearest-rank quantiles', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(quantile(xs, 0.5), 5);
    assert.equal(quantile(xs, 0.9), 9);
    assert.equal(quantile(xs, 0.99), 10);
    assert.equal(quantile([], 0.5), 0);
  });

  it('sends --batch B through the SDK, retrying the txs the node pushed back', async () => {
    const chain = await fakeChain({ ws: true });
    try {
      const r = await runBench(new ArchiClient(chain.url), 'fake', identity, {
        txs: 300,
        concurrency: 4,
        batch: 25,
        workload: 'kv',
        idleTimeoutMs: 10_000,
        progress: false,
      });
      assert.equal(r.committed, 300, JSON.stringify(r));
      assert.equal(r.failed, 0);
      assert.equal(r.batch, 25);
      // 12 full batches and, for the txs pushed back, retries of a few txs each.
      assert.ok(chain.batches() > 12 && chain.batches() < 300, String(chain.batches()));
    } finally {
      await chain.close();
    }
  });

  for (const ws of [true, false]) {
    for (const workload of ['transfer', 'kv'] as const) {
      it(`commits every tx (${workload}, commits via ${ws ? 'WebSocket' : 'block polling'})`, async () => {
        const chain = await fakeChain({ ws });
        try {
          const r = await runBench(new ArchiClient(chain.url), 'fake', identity, {
            txs: 300,
            concurrency: 16,
            batch: 1,
            workload,
            idleTimeoutMs: 10_000,
            progress: false,
          });
          assert.equal(r.committed, 300, JSON.stringify(r));
          assert.equal(r.failed, 0);
          assert.equal(r.commitSource, ws ? 'ws' : 'poll');
          assert.equal(r.workload, workload);
          assert.equal(r.crypto, 'standard');
          assert.equal(r.node, 'fake');
          assert.ok(r.latencyMs.p50 <= r.latencyMs.p90 && r.latencyMs.p90 <= r.latencyMs.p99);
          assert.ok(r.latencyMs.p99 <= r.latencyMs.max);
          for (const k of ['durationSec', 'committedPerSec', 'submitPerSec'] as const) {
            assert.ok(Number.isFinite(r[k]) && r[k] > 0, k);
          }
        } finally {
          await chain.close();
        }
      });
    }
  }
});
