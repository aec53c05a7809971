/**
 * The shared error answers of the node RPC and the console server (src/rpc/http-errors.ts)
 * where an e2e network cannot reach them: Node's header timeout, a request that arrives
 * while the server closes, the console server's own routes; and docs/RPC.md listing every
 * error code with its status.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startConsoleServer } from '../../src/cli/console-server.ts';
import { createApiServer } from '../../src/rpc/http-errors.ts';
import { ERROR_STATUS } from '../../src/types/errors.ts';
import { assertError, httpText, rawRequest } from '../e2e/raw-http.ts';

describe('createApiServer', () => {
  test("Node's header timeout is 408 REQUEST_TIMEOUT", async () => {
    const app = createApiServer({ http: { headersTimeout: 200, connectionsCheckingInterval: 50 } });
    app.get('/x', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as { port: number };
      // Headers that never end.
      const r = await rawRequest(`http://127.0.0.1:${port}`, 'GET /x HTTP/1.1\r\nHost: x\r\n', {
        timeoutMs: 5000,
      });
      assertError(r, 408, 'REQUEST_TIMEOUT');
    } finally {
      await app.close();
    }
  });

  test('a request that arrives while the server closes is 503 NOT_READY', async () => {
    const app = createApiServer();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const inFlight = new Promise<void>((r) => {
      started = r;
    });
    app.get('/slow', async () => {
      started();
      await gate;
      return { ok: true };
    });
    app.get('/x', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const net = await import('node:net');
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d) => {
      raw += d;
    });
    const closed = new Promise((r) => socket.on('close', r));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inFlight;
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 50));
    // The same keep-alive connection, after close began.
    socket.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    release();
    await closing;
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    socket.destroy();
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, raw);
    assert.match(answers[0], /^HTTP\/1\.1 200/);
    assert.match(answers[1], /^HTTP\/1\.1 503/);
    assert.match(answers[1], /\{"error":\{"code":"NOT_READY","message":"[^"]+"\}\}$/);
  });
});

describe('the console server answers errors as the RPC does', () => {
  let dir: string;
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'archi-console-errors-'));
    // An empty dist: the app is "not built", which is an error answer too.
    const s = await startConsoleServer({ dir, distDir: join(dir, 'no-dist') });
    url = s.url;
    close = s.close;
  });
  after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = () => ({ host: new URL(url).host });
  const call = '{"as":"org1/admin","contract":"kv","method":"put","args":{}}';

  const cases: Array<[string, () => string, number, string]> = [
    [
      'an over-long URL',
      () => httpText('GET', `/console-api/network?${'a'.repeat(20_000)}`, host()),
      414,
      'URL_TOO_LONG',
    ],
    ['a bad percent-encoding', () => httpText('GET', '/assets/%zz', host()), 400, 'BAD_URL'],
    [
      'a malformed header',
      () => httpText('GET', '/console-api/network', { ...host(), 'bad header': '1' }),
      400,
      'HTTP_MALFORMED',
    ],
    [
      'text/plain to the operator API',
      () =>
        httpText(
          'POST',
          '/console-api/sign-and-send',
          { ...host(), 'content-type': 'text/plain', 'content-length': call.length },
          call,
        ),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'charset latin1',
      () =>
        httpText(
          'POST',
          '/console-api/sign-and-send',
          {
            ...host(),
            'content-type': 'application/json; charset=latin1',
            'content-length': call.length,
          },
          call,
        ),
      415,
      'UNSUPPORTED_CHARSET',
    ],
    [
      'invalid JSON',
      () =>
        httpText(
          'POST',
          '/console-api/deploy',
          { ...host(), 'content-type': 'application/json', 'content-length': 3 },
          '{x}',
        ),
      400,
      'INVALID_JSON',
    ],
    [
      'a body over 4 MiB',
      () =>
        httpText('POST', '/console-api/deploy', {
          ...host(),
          'content-type': 'application/json',
          'content-length': 5 * 1024 * 1024,
        }),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'GET of a POST route',
      () => httpText('GET', '/console-api/deploy', host()),
      405,
      'HTTP_METHOD_NOT_ALLOWED',
    ],
    ['no route', () => httpText('GET', '/console-api/nothing', host()), 404, 'NOT_FOUND'],
    ['the app not built', () => httpText('GET', '/', host()), 503, 'NOT_READY'],
    [
      'a foreign Host',
      () => httpText('GET', '/console-api/network', { host: 'evil.example' }),
      400,
      'BAD_REQUEST',
    ],
  ];
  for (const [what, request, status, code] of cases) {
    test(`${what}: ${status} ${code}`, async () => {
      assertError(await rawRequest(url, request()), status, code, what);
    });
  }
});

test('docs/RPC.md lists every error code with its HTTP status', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/RPC.md', import.meta.url)), 'utf8');
  const listed = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) listed.set(m[1], Number(m[2]));
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.equal(listed.get(code), status, `docs/RPC.md: ${code} should be listed as ${status}`);
  }
  for (const code of listed.keys()) assert.ok(code in ERROR_STATUS, `unknown code ${code} in docs`);
});
