/**
 * Edges of the node RPC a well-behaved client never reaches: requests Node's HTTP parser or
 * fastify refuse before any route runs (over-long URLs, bad percent-encodings, malformed
 * headers, bodies of the wrong type, charset or size), empty txs, other methods and upgrades,
 * and bad WebSocket subscriptions. Each is sent over a bare socket, as written, and must get
 * the documented `{"error": {code, message}}` with its code's status (docs/RPC.md); the node
 * keeps committing afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { create, encode, TxBatchSchema } from '../../src/codec/index.ts';
import { kvPut, removeDir, stopAll, tempDir, up } from './harness.ts';
import { assertError, httpText, rawRequest } from './raw-http.ts';

describe('the node RPC answers every framework-level error in its own shape', () => {
  let dir: string;
  let rpc: string;

  before(async () => {
    dir = tempDir('archi-edges-');
    ({ rpc } = await up(dir, ['--nodes', '1', '--no-console']));
    assert.equal((await kvPut(dir, '{"key":"a","value":1}')).status, 'ok');
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  const json = { 'content-type': 'application/json' };
  const octets = { 'content-type': 'application/octet-stream' };
  const withBody = (headers: Record<string, string | null>, body: string) => ({
    ...headers,
    'content-length': Buffer.byteLength(body),
  });

  // [what, request, status, code]
  const cases: Array<[string, string, number, string]> = [
    [
      'an over-long URL (request line over 16 KiB)',
      httpText('GET', `/v1/status?pad=${'a'.repeat(20_000)}`),
      414,
      'URL_TOO_LONG',
    ],
    [
      'an over-long path segment',
      httpText('GET', `/v1/state/kv/${'k'.repeat(11_000)}`),
      414,
      'URL_TOO_LONG',
    ],
    ['a bad percent-encoding in a parameter', httpText('GET', '/v1/txs/%zz'), 400, 'BAD_URL'],
    ['a bad percent-encoding in no route', httpText('GET', '/v1/%E0%A4%A'), 400, 'BAD_URL'],
    [
      'a header name with a space',
      httpText('GET', '/v1/status', { 'bad header': 'x' }),
      400,
      'HTTP_MALFORMED',
    ],
    [
      'a header value with a control character',
      httpText('GET', '/v1/status', { 'x-bad': 'a\u0001b' }),
      400,
      'HTTP_MALFORMED',
    ],
    [
      'headers over 16 KiB',
      httpText('GET', '/v1/status', { 'x-big': 'b'.repeat(20_000) }),
      431,
      'HEADERS_TOO_LARGE',
    ],
    ['HTTP/1.1 without Host', httpText('GET', '/v1/status', { host: null }), 400, 'HTTP_MALFORMED'],
    ['an invalid method token', httpText('G@T', '/v1/status'), 400, 'HTTP_MALFORMED'],
    ['not HTTP at all', 'hello there\r\n\r\n', 400, 'HTTP_MALFORMED'],
    [
      'Content-Length with Transfer-Encoding',
      httpText(
        'POST',
        '/v1/query',
        { ...json, 'content-length': 2, 'transfer-encoding': 'chunked' },
        '2\r\n{}\r\n0\r\n\r\n',
      ),
      400,
      'HTTP_MALFORMED',
    ],
    [
      'a non-numeric Content-Length',
      httpText('POST', '/v1/query', { ...json, 'content-length': 'abc' }, '{}'),
      400,
      'HTTP_MALFORMED',
    ],
    [
      'an unsupported Expect',
      httpText('POST', '/v1/query', { ...withBody(json, '{}'), expect: 'teapot' }, '{}'),
      417,
      'EXPECTATION_FAILED',
    ],
    ['CONNECT', httpText('CONNECT', '127.0.0.1:1'), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['DELETE of a GET route', httpText('DELETE', '/v1/status'), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['GET of a POST route', httpText('GET', '/v1/txs'), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['an unknown method', httpText('PROPFIND', '/v1/status'), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['no route', httpText('GET', '/v1/nothing'), 404, 'NOT_FOUND'],
    [
      'invalid JSON',
      httpText('POST', '/v1/query', withBody(json, '{x}'), '{x}'),
      400,
      'INVALID_JSON',
    ],
    [
      'an empty JSON body',
      httpText('POST', '/v1/query', withBody(json, ''), ''),
      400,
      'INVALID_JSON',
    ],
    [
      'JSON with __proto__',
      httpText(
        'POST',
        '/v1/query',
        withBody(json, '{"__proto__":{"a":1}}'),
        '{"__proto__":{"a":1}}',
      ),
      400,
      'INVALID_JSON',
    ],
    [
      'text/plain',
      httpText('POST', '/v1/query', withBody({ 'content-type': 'text/plain' }, '{}'), '{}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a body without Content-Type',
      httpText('POST', '/v1/query', withBody({}, '{}'), '{}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an empty Content-Type',
      httpText('POST', '/v1/query', withBody({ 'content-type': '' }, '{}'), '{}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a Content-Type that does not parse',
      httpText('POST', '/v1/query', withBody({ 'content-type': ';;;' }, '{}'), '{}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'charset latin1',
      httpText(
        'POST',
        '/v1/query',
        withBody({ 'content-type': 'application/json; charset=latin1' }, '{}'),
        '{}',
      ),
      415,
      'UNSUPPORTED_CHARSET',
    ],
    [
      'charset "utf-16" on a tx',
      httpText(
        'POST',
        '/v1/txs',
        withBody({ 'content-type': 'application/octet-stream; charset="UTF-16"' }, 'x'),
        'x',
      ),
      415,
      'UNSUPPORTED_CHARSET',
    ],
    [
      'a query body over the limit',
      httpText('POST', '/v1/query', { ...json, 'content-length': 64 * 1024 * 1024 }),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a tx body over the limit',
      httpText('POST', '/v1/txs', { ...octets, 'content-length': 64 * 1024 * 1024 }),
      413,
      'TX_TOO_LARGE',
    ],
    [
      'an empty tx (octet-stream)',
      httpText('POST', '/v1/txs', withBody(octets, ''), ''),
      400,
      'TX_MALFORMED',
    ],
    [
      'an empty tx (no Content-Type)',
      httpText('POST', '/v1/txs', withBody({}, ''), ''),
      400,
      'TX_MALFORMED',
    ],
    [
      'an empty tx (empty JSON body)',
      httpText('POST', '/v1/txs', withBody(json, ''), ''),
      400,
      'TX_MALFORMED',
    ],
    [
      'an empty tx (empty base64)',
      httpText('POST', '/v1/txs', withBody(json, '{"tx":""}'), '{"tx":""}'),
      400,
      'TX_MALFORMED',
    ],
    [
      'an empty batch',
      httpText('POST', '/v1/txs/batch', withBody(octets, ''), ''),
      400,
      'TX_MALFORMED',
    ],
    [
      'a tx id that is not 64 hex characters',
      httpText('GET', `/v1/txs/${'ab'.repeat(16)}`),
      400,
      'BAD_REQUEST',
    ],
    ['GET /v1/ws without an upgrade', httpText('GET', '/v1/ws'), 426, 'UPGRADE_REQUIRED'],
    [
      'a WebSocket handshake with a bad key',
      httpText('GET', '/v1/ws', {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': 13,
        'sec-websocket-key': 'bad',
      }),
      400,
      'BAD_REQUEST',
    ],
    [
      'a WebSocket upgrade to another path',
      httpText('GET', '/v1/nows', {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': 13,
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      }),
      404,
      'NOT_FOUND',
    ],
    [
      'an upgrade on POST',
      httpText(
        'POST',
        '/v1/query',
        { ...withBody(json, '{}'), connection: 'Upgrade', upgrade: 'h2c' },
        '{}',
      ),
      400,
      'BAD_REQUEST',
    ],
  ];

  for (const [what, request, status, code] of cases) {
    test(`${what}: ${status} ${code}`, async () => {
      assertError(await rawRequest(rpc, request), status, code, what);
    });
  }

  test('a body cut short by the client is HTTP_MALFORMED', async () => {
    const r = await rawRequest(
      rpc,
      httpText('POST', '/v1/query', { ...json, 'content-length': 10 }, '{}'),
      {
        end: true,
      },
    );
    assertError(r, 400, 'HTTP_MALFORMED');
  });

  test('405 names the methods the path serves', async () => {
    const r = await rawRequest(rpc, httpText('DELETE', '/v1/status'));
    assert.equal(r.headers.allow, 'GET, HEAD');
  });

  test('an empty item of a batch is TX_MALFORMED', async () => {
    const batch = Buffer.from(
      encode(TxBatchSchema, create(TxBatchSchema, { txs: [new Uint8Array(0)] })),
    );
    const head = httpText('POST', '/v1/txs/batch', { ...octets, 'content-length': batch.length });
    const r = await rawRequest(rpc, Buffer.concat([Buffer.from(head), batch]));
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.json.results.length, 1);
    assert.equal(r.json.results[0].error.code, 'TX_MALFORMED', r.raw);
  });

  test('a non-WebSocket upgrade (curl --http2) is answered over HTTP/1.1', async () => {
    const r = await rawRequest(
      rpc,
      httpText('GET', '/v1/status', {
        connection: 'Upgrade, HTTP2-Settings',
        upgrade: 'h2c',
        'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA',
      }),
    );
    assert.equal(r.status, 200, r.raw);
    assert.equal(typeof r.json.chainId, 'string');
  });

  test('WebSocket: a subscription to an invalid tx id is refused with a code', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${rpc.replace('http', 'ws')}/v1/ws`);
    await new Promise((res, rej) => ws.once('open', res).once('error', rej));
    const answers: any[] = [];
    ws.on('message', (d) => answers.push(JSON.parse(d.toString())));
    const valid = 'AB'.repeat(32);
    const sent = [
      { op: 'subscribe', topic: 'txs', txId: 'zz' },
      { op: 'subscribe', topic: 'txs', txId: 'ab'.repeat(31) },
      { op: 'subscribe', topic: 'txs', txId: `${'ab'.repeat(31)}zz` },
      { op: 'subscribe', topic: 'txs', txId: 7 },
      { op: 'subscribe', topic: 'txs', txId: valid },
    ];
    for (const m of sent) ws.send(JSON.stringify(m));
    const deadline = Date.now() + 5000;
    while (answers.length < sent.length && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    for (const a of answers.slice(0, 4)) {
      assert.equal(a.op, 'error', JSON.stringify(a));
      assert.deepEqual(Object.keys(a.error).sort(), ['code', 'message']);
      assert.equal(a.error.code, 'BAD_REQUEST', JSON.stringify(a));
      assert.match(a.error.message, /txId/);
    }
    // The socket stays open and takes a valid id (lower-cased).
    assert.deepEqual(answers[4], { op: 'subscribed', topic: 'txs', txId: valid.toLowerCase() });
    ws.close();
  });

  test('WebSocket: past 64 subscriptions TOO_MANY_SUBSCRIPTIONS, the socket stays open', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${rpc.replace('http', 'ws')}/v1/ws`);
    await new Promise((res, rej) => ws.once('open', res).once('error', rej));
    const answers: any[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.op) answers.push(m);
    });
    for (let i = 0; i < 65; i++) ws.send(JSON.stringify({ op: 'subscribe', topic: 'events' }));
    const deadline = Date.now() + 5000;
    while (answers.length < 65 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    assert.equal(answers.filter((a) => a.op === 'subscribed').length, 64);
    assert.equal(answers[64].op, 'error');
    assert.equal(answers[64].error.code, 'TOO_MANY_SUBSCRIPTIONS');
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  test('the node keeps committing', async () => {
    const before = ((await (await fetch(`${rpc}/v1/status`)).json()) as any).height;
    assert.equal((await kvPut(dir, '{"key":"after","value":2}')).status, 'ok');
    const s = (await (await fetch(`${rpc}/v1/status`)).json()) as any;
    assert.ok(s.height > before, `height ${s.height} after ${before}`);
  });
});
