// The SDK's gateway client against a tiny fake gateway: every request it sends is a valid
// signed envelope, every answer is believed only when the gateway's mac, time and reqId
// check out, error codes (with retry-after on 429) come through, events are verified one
// by one; the upload-mode keys and CSRs it makes are what the gateway's checks accept.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { base64Decode } from '../../src/crypto/bytes.ts';
import { getProfile, type ProfileName } from '../../src/crypto/profile.ts';
import { ArchiError } from '../../src/errors/index.ts';
import { certifyCsr, parseCsr, parsePublicKey } from '../../src/gateway/csr.ts';
import {
  GatewayAdmin,
  GatewayClient,
  type GatewayError,
  makeCsr,
  makeUploadKeys,
} from '../../src/sdk/gateway-client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import {
  type RequestEnvelope,
  type ResponseFields,
  signResponse,
  verifyRequest,
} from '../../src/types/gateway-envelope.ts';
import { decodeTx } from '../../src/types/tx.ts';

const profile = getProfile('standard');
const gatewayKey = profile.generateKeyPair();
const otherKey = profile.generateKeyPair();
const access = profile.generateKeyPair();
const APP = 'app_test1';

/** How the fake answers the next request: code, data, and tricks. */
interface Plan {
  code?: string;
  msg?: string;
  data?: unknown;
  status?: number;
  headers?: Record<string, string>;
  /** Sign with another key than the gateway's. */
  wrongKey?: boolean;
  /** Answer another request id. */
  reqId?: string;
  /** The gateway's clock. */
  time?: number;
  /** Send this text as it is. */
  raw?: string;
}

let plan: Plan = {};
const seen: Array<{ path: string; env: RequestEnvelope }> = [];

function respond(env: RequestEnvelope | undefined, p: Plan): string {
  if (p.raw !== undefined) return p.raw;
  const fields: ResponseFields = {
    code: p.code ?? 'OK',
    msg: p.msg ?? '',
    data: p.data ?? null,
    header: {
      reqId: p.reqId ?? env?.header.reqId ?? '',
      time: p.time ?? Date.now(),
      gateway: 'gw-t',
    },
  };
  const signer = profile.signerFromPem(
    p.wrongKey ? otherKey.privateKeyPem : gatewayKey.privateKeyPem,
  );
  return JSON.stringify(signResponse(signer, fields));
}

function keyOf(app: string) {
  return app === APP ? { profile: 'standard' as const, publicKey: access.publicKey } : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

let server: Server;
let wss: WebSocketServer;
let url: string;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req);
  if (req.url?.startsWith('/gw/v1/admin') || req.url === '/gw/v1/health') {
    const ok = req.headers.authorization === 'Bearer tok' || req.url === '/gw/v1/health';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      ok
        ? JSON.stringify({
            path: req.url,
            method: req.method,
            body: text ? JSON.parse(text) : null,
          })
        : JSON.stringify({ error: { code: 'GW_UNAUTHORIZED', message: 'no token' } }),
    );
    return;
  }
  // The fake checks what the client sent exactly as the gateway would.
  const env = verifyRequest(text, keyOf, { nowMs: Date.now() });
  seen.push({ path: req.url ?? '', env });
  const p = plan;
  plan = {};
  res.writeHead(p.status ?? 200, { 'content-type': 'application/json', ...p.headers });
  res.end(respond(env, p));
}

before(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: (e as ArchiError).code, message: String(e) } }));
    });
  });
  wss = new WebSocketServer({ server, path: '/gw/v1/events' });
  wss.on('connection', (ws) => {
    ws.once('message', (raw) => {
      const env = verifyRequest(raw.toString(), keyOf, { nowMs: Date.now() });
      if (env.body.contract === 'nope') {
        ws.send(respond(env, { code: 'GW_FORBIDDEN', msg: 'not yours', status: 403 }));
        ws.close();
        return;
      }
      ws.send(respond(env, { data: { subscribed: true } }));
      const event = {
        txId: 'aa',
        height: 3,
        contract: 'ns_counter',
        name: 'Incremented',
        data: { count: 1 },
      };
      ws.send(respond(env, { data: event }));
      ws.send(respond(env, { data: { ...event, name: 'Forged' }, wrongKey: true }));
      ws.send(respond(env, { data: { ...event, height: 4 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const c of wss.clients) c.terminate();
  wss.close();
  await new Promise((r) => server.close(r));
});

function client(opts: { maxSkewMs?: number } = {}): GatewayClient {
  return new GatewayClient(url, {
    appId: APP,
    accessKeyPem: access.privateKeyPem,
    profile: 'standard',
    gatewayPublicKeyPem: profile.publicKeyToPem(gatewayKey.publicKey),
    ...opts,
  });
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<GatewayError> {
  let caught: unknown;
  await p.catch((e) => {
    caught = e;
  });
  assert.ok(caught instanceof ArchiError, `expected ${code}, got ${String(caught)}`);
  assert.equal((caught as ArchiError).code, code, (caught as Error).message);
  return caught as GatewayError;
}

const INFO = {
  app: {
    id: APP,
    name: 'a',
    tenant: 't',
    chain: 'c1',
    mode: 'upload',
    namespace: 'ns',
    crypto: 'standard',
    tps: 5,
    tpd: null,
  },
  identities: [],
  chain: { chainId: 'c1', crypto: 'standard', identityMode: 'key', lifecyclePolicy: 'ANY' },
  gateway: { id: 'gw-t', org: 'org1' },
};

describe('GatewayClient', () => {
  test('signs each request afresh and returns the verified data', async () => {
    const c = client();
    plan = { data: INFO };
    assert.deepEqual(await c.info(), INFO);
    plan = { data: { result: 7, height: 2, stateRoot: 'ab' } };
    const q = await c.query('counter', 'get', { a: 1 });
    assert.equal(q.result, 7);
    const [first, second] = seen.slice(-2);
    assert.equal(first.path, '/gw/v1/info');
    assert.equal(second.path, '/gw/v1/query');
    assert.deepEqual(second.env.body, { contract: 'counter', method: 'get', args: { a: 1 } });
    assert.notEqual(first.env.header.reqId, second.env.header.reqId);
    assert.match(second.env.header.reqId, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(Math.abs(second.env.header.time - Date.now()) < 5000);
  });

  test('send builds and signs the tx for the chain info names', async () => {
    const c = client();
    plan = { data: INFO };
    await c.info();
    const keys = makeUploadKeys('standard', 'key');
    const id = Identity.fromPem('standard', 'org1', keys.identities[0].privateKeyPem);
    plan = { data: { txId: 'x', status: 'accepted' } };
    const a = await c.send(
      id,
      { contract: 'ns_counter', method: 'increment', args: { by: 2 } },
      { wait: true, timeoutMs: 5000 },
    );
    assert.deepEqual(a, { txId: 'x', status: 'accepted' });
    const { env } = seen[seen.length - 1];
    assert.equal(env.body.wait, true);
    assert.equal(env.body.timeoutMs, 5000);
    const tx = decodeTx(profile, base64Decode(env.body.tx as string));
    assert.equal(tx.payload.chainId, 'c1');
    assert.equal(tx.payload.contract, 'ns_counter');
  });

  test('trust-mode call carries the call, the identity and the gas limit as JSON numbers', async () => {
    plan = { data: { txId: 'y', status: 'accepted' } };
    await client().call({ contract: 'c', method: 'm', gasLimit: 10n ** 6n }, { identity: 'bob' });
    assert.deepEqual(seen[seen.length - 1].env.body, {
      call: { contract: 'c', method: 'm', gasLimit: 1_000_000 },
      identity: 'bob',
    });
  });

  test('a non-OK answer throws its code; 429 carries retryAfterMs from data, else the header', async () => {
    plan = { code: 'GW_FORBIDDEN', msg: 'outside the namespace', status: 403 };
    const e = await rejectsCode(client().query('other', 'get'), 'GW_FORBIDDEN');
    assert.equal(e.status, 403);
    assert.match(e.message, /outside the namespace/);
    plan = {
      code: 'QUOTA_TPS',
      msg: 'over',
      status: 429,
      data: { retryAfterMs: 180 },
      headers: { 'retry-after': '1' },
    };
    assert.equal((await rejectsCode(client().getTx('ab'), 'QUOTA_TPS')).retryAfterMs, 180);
    plan = { code: 'QUOTA_TPD', msg: 'over', status: 429, headers: { 'retry-after': '3600' } };
    assert.equal((await rejectsCode(client().getTx('ab'), 'QUOTA_TPD')).retryAfterMs, 3_600_000);
  });

  test('answers that do not verify are refused: wrong key, another reqId, stale time, not an envelope', async () => {
    plan = { data: { result: 1 }, wrongKey: true };
    await rejectsCode(client().query('c', 'm'), 'GW_BAD_MAC');
    plan = { data: { result: 1 }, reqId: 'someone-else' };
    await rejectsCode(client().query('c', 'm'), 'GW_BAD_MAC');
    plan = { data: { result: 1 }, time: Date.now() - 10 * 60_000 };
    await rejectsCode(client().query('c', 'm'), 'GW_STALE_TIME');
    plan = { data: { result: 1 }, time: Date.now() - 10_000 };
    await rejectsCode(client({ maxSkewMs: 1000 }).query('c', 'm'), 'GW_STALE_TIME');
    plan = { raw: '{"result":1}' };
    await rejectsCode(client().query('c', 'm'), 'GW_MALFORMED');
    // An unsigned error can only fail a call: its code comes through, marked.
    plan = { raw: '{"error":{"code":"BODY_TOO_LARGE","message":"too big"}}', status: 413 };
    const e = await rejectsCode(client().query('c', 'm'), 'BODY_TOO_LARGE');
    assert.equal(e.unsigned, true);
    // ...but an unsigned success is no success.
    plan = { raw: '{"code":"OK","msg":"","data":1}' };
    await rejectsCode(client().query('c', 'm'), 'GW_MALFORMED');
  });

  test('a gateway that cannot be reached is NOT_READY', async () => {
    const c = new GatewayClient('http://127.0.0.1:1', {
      appId: APP,
      accessKeyPem: access.privateKeyPem,
      profile: 'standard',
      gatewayPublicKeyPem: profile.publicKeyToPem(gatewayKey.publicKey),
    });
    await rejectsCode(c.info(), 'NOT_READY');
  });

  test('subscribe: confirmed, verified events delivered, a forged one reported not delivered', async () => {
    const events: unknown[] = [];
    const errors: Error[] = [];
    const sub = await client().subscribe({ contract: 'counter' }, (e) => events.push(e), {
      onError: (e) => errors.push(e),
    });
    const deadline = Date.now() + 5000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sub.close();
    assert.deepEqual(
      events.map((e) => [(e as { name: string }).name, (e as { height: number }).height]),
      [
        ['Incremented', 3],
        ['Incremented', 4],
      ],
    );
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as ArchiError).code, 'GW_BAD_MAC');
    await rejectsCode(
      client().subscribe({ contract: 'nope' }, () => {}),
      'GW_FORBIDDEN',
    );
  });
});

describe('GatewayAdmin', () => {
  test('sends the token; a missing one is GW_UNAUTHORIZED', async () => {
    const admin = new GatewayAdmin(url, 'tok');
    const r = (await admin.setQuota('app_1', { tps: null, tpd: 7 })) as unknown as {
      path: string;
      method: string;
      body: unknown;
    };
    assert.deepEqual(r, {
      path: '/gw/v1/admin/apps/app_1/quota',
      method: 'POST',
      body: { tps: null, tpd: 7 },
    });
    const u = (await admin.usage({ app: 'a b', from: '2026-01-01' })) as unknown as {
      path: string;
    };
    assert.equal(u.path, '/gw/v1/admin/usage?app=a+b&from=2026-01-01&format=json');
    await rejectsCode(new GatewayAdmin(url, 'wrong').tenants(), 'GW_UNAUTHORIZED');
    assert.equal(
      ((await new GatewayAdmin(url, 'wrong').health()) as unknown as { path: string }).path,
      '/gw/v1/health',
    );
  });
});

describe('upload-mode keys', () => {
  for (const name of ['standard', 'gm'] as ProfileName[]) {
    test(`makeCsr and makeUploadKeys make what the gateway accepts [${name}]`, () => {
      const p = getProfile(name);
      const keys = makeUploadKeys(name, 'cert', ['default', 'alice@app']);
      assert.deepEqual(
        parsePublicKey(keys.upload.accessPublicKey, p),
        p.publicKeyFromPem(keys.access.publicKeyPem),
      );
      for (const id of keys.identities) {
        const csr = parseCsr(id.csr as string, p);
        assert.equal(csr.commonName, id.name);
        assert.equal(Buffer.from(csr.publicKey).toString('hex'), id.publicKeyHex);
      }
      const ca = p.generateKeyPair();
      const issued = certifyCsr(
        p,
        { keyPem: ca.privateKeyPem, org: 'org1' },
        keys.identities[0].csr as string,
        {
          role: 'client',
          notBefore: new Date(Date.now() - 1000),
          notAfter: new Date(Date.now() + 86_400_000),
          commonName: 'default',
        },
      );
      // The app's own key and the issued certificate make a signing identity.
      const identity = Identity.fromPem(
        name,
        'org1',
        keys.identities[0].privateKeyPem,
        issued.certPem,
      );
      assert.equal(identity.mode, 'cert');
      const keyMode = makeUploadKeys(name, 'key');
      assert.equal(keyMode.identities[0].csr, undefined);
      assert.deepEqual(keyMode.upload.identities, [
        { name: 'default', publicKey: keyMode.identities[0].publicKeyPem },
      ]);
      assert.throws(() => makeCsr(name, keys.access.privateKeyPem, ''), { code: 'INVALID_ARGS' });
    });
  }
});
