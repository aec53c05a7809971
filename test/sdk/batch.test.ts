/**
 * ArchiClient batches: submitBatch and the opt-in `batch` mode that coalesces submitTx/send
 * into POST /v1/txs/batch requests, against a real solo node on loopback behind a proxy that
 * counts the batch requests, their txs and the connections they came on; transport failures,
 * timeouts and close() against fake servers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode, TxBatchSchema } from '../../src/codec/index.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { isUnreachable } from '../../src/sdk/errors.ts';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import type { SubmitAnswer } from '../../src/sdk/types.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { removeDir, stopAll, tempDir, up } from '../e2e/harness.ts';

/** A loopback HTTP server; `handle` sees every request with its body. */
async function server(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    async close() {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

/**
 * A proxy in front of the node that forwards every request and records, per batch request, how
 * many txs it held, and the client connections batch requests came on.
 */
async function countingProxy(target: string) {
  const agent = new http.Agent({ keepAlive: true });
  const batches: number[] = [];
  const batchSockets = new Set<Socket>();
  const s = await server((req, res, body) => {
    if (req.url?.endsWith('/txs/batch')) {
      batches.push(decode(TxBatchSchema, body).txs.length);
      batchSockets.add(req.socket);
    }
    const up = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end(body);
  });
  return {
    url: s.url,
    batches,
    batchSockets,
    /** Forget what was counted so far. */
    reset() {
      batches.length = 0;
      batchSockets.clear();
    },
    async close() {
      await s.close();
      agent.destroy();
    },
  };
}

/** The code of the ArchiError `p` rejects with. */
async function rejection(p: Promise<unknown>): Promise<ArchiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ArchiError, `expected an ArchiError, got ${e}`);
    return e;
  }
  assert.fail('expected a rejection');
}

/** Timers alive in this process (a batch timer left by the client would show here). */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

const garbage = Uint8Array.of(0xff, 0xff, 0xff);

describe('SDK batches against a real solo node', () => {
  let dir: string;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let chainId: string;
  let admin: Identity;
  /** A fresh signed kv put. */
  let tx: () => { bytes: Uint8Array; txIdHex: string };
  const clients: ArchiClient[] = [];
  const client = (opts: ConstructorParameters<typeof ArchiClient>[1] = {}): ArchiClient => {
    const c = new ArchiClient(proxy.url, opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = tempDir('archi-sdk-batch-');
    const { rpc } = await up(dir, ['--nodes', '1']);
    proxy = await countingProxy(rpc);
    const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
    admin = Identity.fromUserDir(
      net.crypto,
      'org1',
      join(dir, 'orgs/org1/users/admin'),
      net.identityMode,
    );
    chainId = (await new ArchiClient(rpc).status()).chainId;
    tx = () =>
      buildAndSign(admin, chainId, {
        contract: 'kv',
        method: 'put',
        args: { key: `batch-${randomBytes(6).toString('hex')}`, value: 1 },
      });
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await stopAll();
    removeDir(dir);
  });

  test('submitBatch answers each tx on its own: good, malformed, empty, duplicate and foreign txs in one request', async () => {
    proxy.reset();
    const c = client();
    const [a, b] = [tx(), tx()];
    const foreign = buildAndSign(admin, `${chainId}-other`, {
      contract: 'kv',
      method: 'put',
      args: { key: 'foreign', value: 1 },
    });
    const results = await c.submitBatch([
      a.bytes,
      garbage,
      b.bytes,
      a.bytes,
      new Uint8Array(0),
      foreign.bytes,
    ]);
    assert.deepEqual(proxy.batches, [6], 'one request');
    assert.equal(results[0].txId, a.txIdHex);
    assert.equal(results[2].txId, b.txIdHex);
    assert.deepEqual(
      results.map((r) => r.error?.code ?? 'ok'),
      ['ok', 'TX_MALFORMED', 'ok', 'TX_DUPLICATE', 'TX_MALFORMED', 'TX_WRONG_CHAIN'],
    );
    assert.ok(results[1].error instanceof ArchiError);
    // Serialized, a result has the node's own shape.
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(results[3])).error), [
      'code',
      'message',
    ]);
    const committed = await c.waitForTx(b.txIdHex, 30_000);
    assert.equal(committed.receipt.status, 'ok');
    // Once admitted, the same bytes again are a duplicate, pending or committed.
    assert.equal((await c.submitBatch([a.bytes]))[0].error?.code, 'TX_DUPLICATE');
    assert.deepEqual(await c.submitBatch([]), []);
    const tooMany = await rejection(c.submitBatch(Array.from({ length: 1001 }, () => garbage)));
    assert.equal(tooMany.code, 'BAD_REQUEST');
  });

  test('batch mode coalesces concurrent submits and sends into one request on one connection, each caller getting its own answer', async () => {
    proxy.reset();
    const c = client({ batch: { maxTxs: 1000, maxDelayMs: 1000 } });
    await c.status(); // send() signs for the chain id it reads once
    const good = Array.from({ length: 40 }, tx);
    const answers = await Promise.allSettled([
      ...good.map((t) => c.submitTx(t.bytes)),
      c.submitTx(good[0].bytes),
      c.submitTx(garbage),
      ...Array.from({ length: 5 }, (_, i) =>
        c.send(admin, { contract: 'kv', method: 'put', args: { key: `sent-${i}`, value: i } }),
      ),
    ]);
    assert.deepEqual(proxy.batches, [47], 'one request for 47 calls');
    for (const [i, t] of good.entries()) {
      const a = answers[i];
      assert.equal(a.status, 'fulfilled');
      assert.equal((a as PromiseFulfilledResult<SubmitAnswer>).value.txId, t.txIdHex);
    }
    const codeOf = (a: PromiseSettledResult<unknown>): string =>
      a.status === 'rejected' ? (a.reason as ArchiError).code : 'ok';
    assert.equal(codeOf(answers[40]), 'TX_DUPLICATE');
    assert.equal(codeOf(answers[41]), 'TX_MALFORMED');
    assert.deepEqual(answers.slice(42).map(codeOf), ['ok', 'ok', 'ok', 'ok', 'ok']);

    // Calls some time apart, within maxDelayMs of the first, go together too.
    proxy.reset();
    const first = Array.from({ length: 5 }, () => c.submitTx(tx().bytes));
    await new Promise((r) => setTimeout(r, 50));
    const later = Array.from({ length: 5 }, () => c.submitTx(tx().bytes));
    await Promise.all([...first, ...later]);
    assert.deepEqual(proxy.batches, [10]);
    assert.equal(proxy.batchSockets.size, 1, 'one connection for every batch of the client');

    // A waiting submit still goes alone to /v1/txs and answers with the receipt.
    const w = await c.submitTx(tx().bytes, { wait: true, timeoutMs: 30_000 });
    assert.equal(w.receipt.status, 'ok');
    assert.deepEqual(proxy.batches, [10]);
  });

  test('a full batch goes at once: maxTxs flushes early and the rest follows on the same connection', {
    timeout: 30_000,
  }, async () => {
    proxy.reset();
    const c = client({ batch: { maxTxs: 10, maxDelayMs: 60_000 } });
    const txs = Array.from({ length: 25 }, tx);
    const ids = await Promise.all(txs.map((t) => c.submitTx(t.bytes)));
    assert.deepEqual(
      ids.map((a) => a.txId),
      txs.map((t) => t.txIdHex),
    );
    // 10 as soon as there are 10; the next ones as soon as the connection is free again.
    assert.deepEqual(proxy.batches, [10, 10, 5]);
    assert.equal(proxy.batchSockets.size, 1);
  });

  test('close() rejects the txs waiting for their batch and every later call, leaving no timer running', async () => {
    proxy.reset();
    const c = client({ batch: { maxDelayMs: 60_000 } });
    const idle = timers();
    const waiting = Array.from({ length: 3 }, () => c.submitTx(tx().bytes));
    assert.equal(timers(), idle + 1, 'the batch timer runs');
    c.close();
    for (const p of waiting) {
      const e = await rejection(p);
      assert.equal(e.code, 'NOT_READY');
      assert.match(e.message, /closed/);
    }
    assert.equal(timers(), idle);
    assert.deepEqual(proxy.batches, [], 'nothing was sent');
    for (const p of [c.submitTx(tx().bytes), c.submitBatch([tx().bytes]), c.status()]) {
      assert.equal((await rejection(p)).code, 'NOT_READY');
    }
  });
});

describe('SDK batches: failures of the request as a whole', () => {
  test('a connection that breaks rejects every tx of the batch with NOT_READY (unreachable)', async () => {
    const s = await server((req) => req.socket.destroy());
    const c = new ArchiClient(s.url, { batch: { maxDelayMs: 0 } });
    try {
      const errs = await Promise.all([1, 2, 3].map((i) => rejection(c.submitTx(Uint8Array.of(i)))));
      for (const e of errs) {
        assert.equal(e.code, 'NOT_READY');
        assert.ok(isUnreachable(e));
      }
      const e = await rejection(c.submitBatch([Uint8Array.of(4)]));
      assert.ok(isUnreachable(e));
    } finally {
      c.close();
      await s.close();
    }
  });

  test('a batch the node refuses as a whole rejects every tx with its code; a short answer is INTERNAL', async () => {
    let answer: { status: number; body: unknown } = { status: 200, body: {} };
    const s = await server((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    const c = new ArchiClient(s.url, { batch: { maxDelayMs: 0 } });
    try {
      answer = {
        status: 413,
        body: { error: { code: 'TX_TOO_LARGE', message: 'the body is over 8388608 bytes' } },
      };
      const errs = await Promise.all([1, 2].map((i) => rejection(c.submitTx(Uint8Array.of(i)))));
      assert.deepEqual(
        errs.map((e) => [e.code, e.message]),
        [
          ['TX_TOO_LARGE', 'the body is over 8388608 bytes'],
          ['TX_TOO_LARGE', 'the body is over 8388608 bytes'],
        ],
      );
      answer = { status: 200, body: { results: [{ txId: 'aa' }] } };
      const short = await rejection(c.submitBatch([Uint8Array.of(1), Uint8Array.of(2)]));
      assert.equal(short.code, 'INTERNAL');
      assert.match(short.message, /one result per tx/);
    } finally {
      c.close();
      await s.close();
    }
  });

  test('a batch without an answer in time rejects with TIMEOUT', async () => {
    const s = await server(() => undefined);
    const c = new ArchiClient(s.url, { timeoutMs: 200 });
    try {
      const e = await rejection(c.submitBatch([Uint8Array.of(1)]));
      assert.equal(e.code, 'TIMEOUT');
    } finally {
      c.close();
      await s.close();
    }
  });

  test('close() cuts short the batch in flight and the ones waiting for the connection', async () => {
    let received = 0;
    const s = await server(() => {
      received++;
    });
    const idle = timers();
    const c = new ArchiClient(s.url, { batch: { maxDelayMs: 0 } });
    try {
      const inFlight = c.submitTx(Uint8Array.of(1));
      for (let i = 0; i < 200 && received === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(received, 1);
      const queued = c.submitTx(Uint8Array.of(2));
      const explicit = c.submitBatch([Uint8Array.of(3)]);
      c.close();
      for (const p of [inFlight, queued, explicit]) {
        const e = await rejection(p);
        assert.equal(e.code, 'NOT_READY');
        assert.match(e.message, /closed/);
        assert.ok(!isUnreachable(e), 'the node is not to blame');
      }
      assert.equal(received, 1, 'only the first batch reached the node');
      assert.equal(timers(), idle);
    } finally {
      c.close();
      await s.close();
    }
  });

  test('batch options out of range are refused when the client is made', () => {
    for (const opts of [
      { batch: { maxTxs: 0 } },
      { batch: { maxTxs: 1001 } },
      { batch: { maxDelayMs: -1 } },
      { batchConnections: 0 },
    ]) {
      assert.throws(
        () => new ArchiClient('http://127.0.0.1:1', opts),
        (e: unknown) => e instanceof ArchiError && e.code === 'BAD_REQUEST',
      );
    }
  });
});
