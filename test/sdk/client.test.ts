import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { ArchiClient, normalizeRpcUrl } from '../../src/sdk/client.ts';
import { isUnreachable } from '../../src/sdk/errors.ts';
import { ArchiError } from '../../src/types/errors.ts';

interface Seen {
  method: string;
  url: string;
  type: string | undefined;
  body: Buffer;
}

/** A fake node: answers per route from `routes`, records requests, and serves /v1/ws. */
class FakeNode {
  server = http.createServer((req, res) => this.handle(req, res));
  wss = new WebSocketServer({ server: this.server, path: '/v1/ws' });
  seen: Seen[] = [];
  wsMessages: any[] = [];
  url = '';
  routes = new Map<string, (body: Buffer) => { status: number; body: string; type?: string }>();

  async start(): Promise<void> {
    this.wss.on('connection', (ws) => {
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString());
        this.wsMessages.push(msg);
        if (msg.topic === 'nope') {
          ws.send(
            JSON.stringify({
              op: 'error',
              error: { code: 'BAD_REQUEST', message: 'unknown topic "nope"' },
            }),
          );
          return;
        }
        ws.send(JSON.stringify({ ...msg, op: 'subscribed' }));
        ws.send(JSON.stringify({ topic: 'events', data: { ignored: true } }));
        for (let h = 1; h <= 3; h++) {
          ws.send(
            JSON.stringify({ topic: msg.topic, data: { txId: msg.txId ?? 'aa', height: h } }),
          );
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.seen.push({
        method: req.method!,
        url: req.url!,
        type: req.headers['content-type'],
        body,
      });
      const path = req.url!.split('?')[0];
      const route = this.routes.get(`${req.method} ${path}`);
      const a = route
        ? route(body)
        : {
            status: 404,
            body: JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route ${path}` } }),
          };
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' });
      res.end(a.body);
    });
  }
}

function json(status: number, v: unknown): { status: number; body: string } {
  return { status, body: JSON.stringify(v) };
}

async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  pattern?: RegExp,
): Promise<ArchiError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ArchiError, `expected ArchiError ${code}, got ${err}`);
  assert.equal(err.code, code);
  if (pattern) assert.match(err.message, pattern);
  return err;
}

describe('ArchiClient', () => {
  const node = new FakeNode();
  let client: ArchiClient;

  before(async () => {
    await node.start();
    client = new ArchiClient(node.url);
  });
  after(() => node.stop());

  it('normalizes URLs and rejects bad ones', () => {
    assert.equal(normalizeRpcUrl('127.0.0.1:8545/'), 'http://127.0.0.1:8545');
    assert.equal(normalizeRpcUrl('https://node.example/api/'), 'https://node.example/api');
    assert.throws(() => normalizeRpcUrl('ftp://x'), ArchiError);
    assert.throws(() => normalizeRpcUrl('http://'), ArchiError);
  });

  it('reads status, blocks, txs, contracts and config', async () => {
    node.routes.set('GET /v1/status', () =>
      json(200, { chainId: 'c1', height: 5, crypto: 'standard' }),
    );
    node.routes.set('GET /v1/blocks/latest', () => json(200, { height: 5 }));
    node.routes.set('GET /v1/blocks/3', () => json(200, { height: 3 }));
    node.routes.set('GET /v1/txs/ab', () => json(200, { txId: 'ab', height: 2 }));
    node.routes.set('GET /v1/contracts', () => json(200, [{ name: 'kv', methods: [] }]));
    node.routes.set('GET /v1/config', () => json(200, { chainId: 'c1', validators: [] }));
    assert.equal((await client.status()).chainId, 'c1');
    assert.equal((await client.getBlock('latest')).height, 5);
    assert.equal((await client.getBlock(3)).height, 3);
    assert.equal((await client.getTx('ab')).height, 2);
    assert.equal((await client.contracts())[0].name, 'kv');
    assert.equal((await client.config()).chainId, 'c1');
    await rejectsWith(client.getBlock(-1), 'BAD_REQUEST');
  });

  it('posts raw tx bytes, with wait parameters when asked', async () => {
    node.routes.set('POST /v1/txs', (body) =>
      json(202, { txId: body.toString('hex'), height: 9, receipt: { status: 'ok' } }),
    );
    const r = await client.submitTx(Uint8Array.of(1, 2, 3));
    assert.equal(r.txId, '010203');
    let last = node.seen.at(-1)!;
    assert.equal(last.type, 'application/octet-stream');
    assert.equal(last.url, '/v1/txs');
    const w = await client.submitTx(Uint8Array.of(4), { wait: true, timeoutMs: 1234 });
    assert.equal(w.height, 9);
    last = node.seen.at(-1)!;
    assert.equal(last.url, '/v1/txs?wait=true&timeoutMs=1234');
  });

  it('posts queries as JSON', async () => {
    node.routes.set('POST /v1/query', (body) => json(200, { result: JSON.parse(body.toString()) }));
    const r = await client.query('token', 'balanceOf', { owner: 'x', n: 5n }, { prove: true });
    assert.deepEqual(r.result, {
      contract: 'token',
      method: 'balanceOf',
      args: { owner: 'x', n: '5' },
      prove: true,
    });
    assert.equal(node.seen.at(-1)!.type, 'application/json');
  });

  it('escapes state keys in the path', async () => {
    node.routes.set('GET /v1/state/kv/a%2Fb%20c', () => json(200, { key: 'kv/a/b c' }));
    assert.equal((await client.getState('kv', 'a/b c')).key, 'kv/a/b c');
  });

  it('turns error answers into ArchiError with the node code', async () => {
    node.routes.set('GET /v1/txs/cd', () =>
      json(404, { error: { code: 'NOT_FOUND', message: 'tx cd is not committed' } }),
    );
    await rejectsWith(client.getTx('cd'), 'NOT_FOUND', /^tx cd is not committed$/);
    node.routes.set('POST /v1/txs', () =>
      json(400, { error: { code: 'TX_BAD_SIGNATURE', message: 'bad signature' } }),
    );
    await rejectsWith(client.submitTx(Uint8Array.of(1)), 'TX_BAD_SIGNATURE', /bad signature/);
  });

  it('maps unknown codes to INTERNAL but keeps the message and code', async () => {
    node.routes.set('GET /v1/txs/ef', () =>
      json(418, { error: { code: 'TEAPOT_OVERFLOW', message: 'the pot is full' } }),
    );
    const e = await rejectsWith(client.getTx('ef'), 'INTERNAL', /^the pot is full$/);
    assert.equal((e as any).remoteCode, 'TEAPOT_OVERFLOW');
  });

  it('handles non-JSON answers', async () => {
    node.routes.set('GET /v1/status', () => ({
      status: 502,
      body: '<html>bad gateway</html>',
      type: 'text/html',
    }));
    await rejectsWith(client.status(), 'INTERNAL', /HTTP 502/);
    node.routes.set('GET /v1/status', () => ({
      status: 200,
      body: 'not json',
      type: 'text/plain',
    }));
    await rejectsWith(client.status(), 'INTERNAL', /did not answer JSON/);
    node.routes.set('GET /v1/status', () => ({ status: 404, body: 'gone', type: 'text/plain' }));
    await rejectsWith(client.status(), 'NOT_FOUND');
  });

  it('polls waitForTx until the tx is committed', async () => {
    let calls = 0;
    node.routes.set('GET /v1/txs/77', () => {
      calls++;
      return calls < 3
        ? json(404, { error: { code: 'NOT_FOUND', message: 'pending' } })
        : json(200, { txId: '77', height: 4 });
    });
    assert.equal((await client.waitForTx('77', 5000)).height, 4);
    assert.equal(calls, 3);
    node.routes.set('GET /v1/txs/78', () =>
      json(404, { error: { code: 'NOT_FOUND', message: 'pending' } }),
    );
    await rejectsWith(client.waitForTx('78', 200), 'TIMEOUT', /78/);
  });

  it('subscribes over WebSocket and delivers only its topic', async () => {
    const got: any[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    const stop = await client.subscribe('txs', { txId: 'abc' }, (d) => {
      got.push(d);
      if (got.length === 3) resolveDone();
    });
    await done;
    stop();
    assert.deepEqual(
      got.map((d) => d.height),
      [1, 2, 3],
    );
    assert.ok(got.every((d) => d.txId === 'abc'));
    assert.deepEqual(node.wsMessages.at(-1), { op: 'subscribe', topic: 'txs', txId: 'abc' });
  });

  it('rejects a subscription the node refuses', async () => {
    await rejectsWith(
      client.subscribe('nope' as any, {}, () => undefined),
      'BAD_REQUEST',
      /unknown topic/,
    );
  });

  it('names the URL when the node cannot be reached', async () => {
    const down = new ArchiClient('http://127.0.0.1:1');
    const e = await rejectsWith(down.status(), 'NOT_READY', /127\.0\.0\.1:1/);
    assert.ok(isUnreachable(e));
    const ws = await rejectsWith(
      down.subscribe('blocks', {}, () => undefined),
      'NOT_READY',
      /127\.0\.0\.1:1/,
    );
    assert.ok(isUnreachable(ws));
  });

  it('times out a request that gets no answer', async () => {
    const slow = http.createServer(() => undefined);
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const c = new ArchiClient(`http://127.0.0.1:${(slow.address() as AddressInfo).port}`, {
      timeoutMs: 100,
    });
    await rejectsWith(c.status(), 'TIMEOUT', /100 ms/);
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
  });
});
