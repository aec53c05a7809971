/**
 * The gateway's HTTP server on a real local network (two organizations, BFT, certificate
 * identities, standard profile; nodes and gateway in this process, the gateway on PGlite),
 * tested through raw HTTP with envelopes signed here: every app endpoint in both key modes,
 * each bad input answered with its signed code and nothing forwarded, quotas (429 with
 * Retry-After), deploys under the chain's lifecycle policy (direct, then a governance
 * proposal once the policy needs both organizations), events over WebSocket, usage and gas,
 * the journal re-sent on restart, node failover, and a key-trust app's private keys never in
 * plain text in the database or the logs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { decodeEcPrivateKeyPem } from '../../src/crypto/keys.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { loadMasterKey, openPrivateKey } from '../../src/gateway/app-keys.ts';
import { ChainNodes, NodePool } from '../../src/gateway/forwarder.ts';
import type { RunningGateway } from '../../src/gateway/gateway.ts';
import { acceptRequest, getRequest, listIdentities } from '../../src/gateway/store.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Contracts } from '../../src/sdk/contracts.ts';
import { Governance } from '../../src/sdk/governance.ts';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import { verifyQueryProof } from '../../src/sdk/verify.ts';
import { GW_LIMITS } from '../../src/types/gateway-envelope.ts';
import { hex } from '../../src/types/hex.ts';
import { buildContract } from '../../src/vm/sandbox/index.ts';
import {
  admin,
  adminOk,
  eventually,
  gateway,
  type LocalNetwork,
  makeCsr,
  newReqId,
  RawApp,
  startNetwork,
} from './server-helpers.ts';

const PROFILE = 'standard';
const CHAIN = 'archipelago-local';
const COUNTER = fileURLToPath(new URL('../../contracts/counter.ts', import.meta.url));
const p = getProfile(PROFILE);

let net: LocalNetwork;
let gw: RunningGateway & { logLines: string[] };
/** Log lines of every gateway of this file (one is restarted). */
const logs: string[][] = [];
let code: string;
let shop: RawApp; // upload mode
let vault: RawApp; // key trust
let alice: Identity; // shop's identity
let vaultAccessKey: string;
let node: ArchiClient;

before(async () => {
  net = await startNetwork({ orgs: 2 });
  gw = await gateway(net.dir);
  logs.push(gw.logLines);
  code = (await buildContract(COUNTER)).code;
  node = new ArchiClient(net.rpc[0], { chainId: CHAIN });
  await adminOk(gw, 'POST', '/tenants', { name: 'acme' });

  const access = p.generateKeyPair();
  const aliceKey = p.generateKeyPair();
  const created = await adminOk(gw, 'POST', '/apps', {
    tenant: 'acme',
    name: 'shop',
    chain: CHAIN,
    accessPublicKey: p.publicKeyToPem(access.publicKey),
    identities: [{ name: 'alice', csr: makeCsr(PROFILE, aliceKey.privateKeyPem, 'alice@shop') }],
  });
  shop = new RawApp(
    gw.url,
    created.app.id,
    PROFILE,
    access.privateKeyPem,
    created.gateway.publicKeys.standard,
  );
  alice = Identity.fromPem(
    PROFILE,
    created.gateway.org,
    aliceKey.privateKeyPem,
    created.identities[0].cert,
  );

  const v = await adminOk(gw, 'POST', '/apps', {
    tenant: 'acme',
    name: 'Vault',
    chain: CHAIN,
    mode: 'trust',
  });
  vaultAccessKey = v.accessPrivateKey;
  vault = new RawApp(gw.url, v.app.id, PROFILE, v.accessPrivateKey, v.gateway.publicKeys.standard);
});

after(async () => {
  await gw?.close();
  await net?.stop();
});

/** A signed tx of alice's, base64. */
function aliceTx(call: { contract: string; method: string; args?: unknown }, chainId = CHAIN) {
  const tx = buildAndSign(alice, chainId, call);
  return { tx: Buffer.from(tx.bytes).toString('base64'), txId: tx.txIdHex, bytes: tx.bytes };
}

test('health, network.json, and admin requests without the token', async () => {
  const h = await fetch(`${gw.url}/gw/v1/health`);
  assert.deepEqual(await h.json(), { id: 'gw-1', org: 'org1', ok: true });
  const recorded = JSON.parse(readFileSync(join(net.dir, 'network.json'), 'utf8')).gateway;
  assert.deepEqual(recorded, { url: gw.url, id: 'gw-1', org: 'org1', db: 'pglite' });
  for (const token of [null, 'f'.repeat(64), '']) {
    const r = await admin(gw, 'GET', '/tenants', undefined, token);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'GW_UNAUTHORIZED');
  }
  const tenants = await adminOk(gw, 'GET', '/tenants');
  assert.equal(tenants.length, 1);
  assert.equal(tenants[0].name, 'acme');
  assert.equal(tenants[0].apps, 2);
  assert.deepEqual(Object.keys(tenants[0].total).sort(), [
    'bytesWritten',
    'gas',
    'queries',
    'rejected',
    'txs',
  ]);
});

test('app creation: namespaces, and what it refuses', async () => {
  const apps = await adminOk(gw, 'GET', '/apps?tenant=acme');
  assert.deepEqual(apps.map((a: any) => [a.name, a.namespace, a.mode]).sort(), [
    ['Vault', 'vault', 'trust'],
    ['shop', 'shop', 'upload'],
  ]);
  await adminOk(gw, 'POST', '/tenants', { name: 'beta' });
  // Same name in another tenant: the namespace gets a suffix.
  const again = await adminOk(gw, 'POST', '/apps', {
    tenant: 'beta',
    name: 'vault',
    chain: CHAIN,
    mode: 'trust',
    identities: ['a', 'b'],
  });
  assert.equal(again.app.namespace, 'vault2');
  assert.deepEqual(
    again.identities.map((i: any) => i.name),
    ['a', 'b'],
  );
  assert.ok(again.identities.every((i: any) => i.cert.includes('BEGIN CERTIFICATE')));
  const odd = await adminOk(gw, 'POST', '/apps', {
    tenant: 'beta',
    name: '9-Lives.app.of.cats',
    chain: CHAIN,
    mode: 'trust',
  });
  assert.equal(odd.app.namespace, 'a9_lives_app');
  const shown = await adminOk(gw, 'GET', `/apps/${again.app.id}`);
  assert.equal(shown.app.id, again.app.id);
  assert.equal(shown.identities.length, 2);
  assert.ok(!JSON.stringify(shown).includes('PRIVATE'));

  const k = p.generateKeyPair();
  const upload = (over: Record<string, unknown>) => ({
    tenant: 'beta',
    name: 'up',
    chain: CHAIN,
    accessPublicKey: p.publicKeyToPem(k.publicKey),
    identities: [{ name: 'x', csr: makeCsr(PROFILE, k.privateKeyPem, 'x') }],
    ...over,
  });
  const refused: Array<[Record<string, unknown>, number, string]> = [
    [upload({ tenant: 'nobody' }), 404, 'GW_NOT_FOUND'],
    [upload({ chain: 'no-such-chain' }), 404, 'CHAIN_NOT_FOUND'],
    [upload({ identities: [] }), 400, 'BAD_REQUEST'],
    [upload({ identities: [{ name: 'x', csr: 'junk' }] }), 400, 'GW_CSR_INVALID'],
    [
      upload({
        identities: [
          { name: 'x', csr: makeCsr('gm', getProfile('gm').generateKeyPair().privateKeyPem, 'x') },
        ],
      }),
      400,
      'GW_CSR_INVALID',
    ],
    [
      upload({
        accessPublicKey: getProfile('gm').publicKeyToPem(
          getProfile('gm').generateKeyPair().publicKey,
        ),
      }),
      400,
      'GW_KEY_INVALID',
    ],
    [upload({ accessPublicKey: undefined }), 400, 'BAD_REQUEST'],
    [upload({ mode: 'other' }), 400, 'BAD_REQUEST'],
    [upload({ tps: 0 }), 400, 'BAD_REQUEST'],
    [upload({ namespace: 'vault' }), 409, 'GW_EXISTS'],
    [upload({ name: 'shop', tenant: 'acme' }), 409, 'GW_EXISTS'],
    [{ ...upload({}), extra: 1 }, 400, 'BAD_REQUEST'],
  ];
  for (const [body, status, code] of refused) {
    const r = await admin(gw, 'POST', '/apps', body);
    assert.equal(r.body?.error?.code, code, `${JSON.stringify(body).slice(0, 200)}: ${r.text}`);
    assert.equal(r.status, status);
  }
  // Nothing of the refused apps was kept.
  const names = (await adminOk(gw, 'GET', '/apps?tenant=beta')).map((a: any) => a.name);
  assert.deepEqual(names.sort(), ['9-Lives.app.of.cats', 'vault']);
});

test('info in both key modes', async () => {
  const s = await shop.ok('/gw/v1/info', {});
  assert.equal(s.app.id, shop.appId);
  assert.equal(s.app.mode, 'upload');
  assert.equal(s.app.namespace, 'shop');
  assert.equal(s.app.crypto, 'standard');
  assert.equal(s.app.chain, CHAIN);
  assert.deepEqual(s.chain, {
    chainId: CHAIN,
    crypto: 'standard',
    identityMode: 'cert',
    lifecyclePolicy: 'ANY',
  });
  assert.deepEqual(s.gateway, { id: 'gw-1', org: 'org1' });
  assert.equal(s.identities[0].name, 'alice');
  assert.equal(s.identities[0].publicKey, alice.publicKeyHex);
  assert.match(s.identities[0].cert, /BEGIN CERTIFICATE/);
  const v = await vault.ok('/gw/v1/info', {});
  assert.equal(v.app.mode, 'trust');
  assert.deepEqual(
    v.identities.map((i: any) => i.name),
    ['default'],
  );
});

test('deploy when one organization may, then txs in both modes, tx/get, a verified query, block and validators', async () => {
  const d = await shop.ok('/gw/v1/contract/deploy', { name: 'counter', code });
  assert.equal(d.status, 'deployed');
  assert.equal(d.contract.name, 'shop_counter');
  assert.equal(d.contract.deployer.org, 'org1');
  const dv = await vault.ok('/gw/v1/contract/deploy', { name: 'vault_counter', code });
  assert.equal(dv.contract.name, 'vault_counter');
  // Upgrade keeps the name and bumps the version.
  const up = await vault.ok('/gw/v1/contract/deploy', { name: 'counter', code, upgrade: true });
  assert.equal(up.contract.version, 2);
  // A failing receipt is the answer's code: the name is taken.
  const taken = await vault.call('/gw/v1/contract/deploy', { name: 'counter', code });
  assert.equal(taken.env.code, 'CONTRACT_EXISTS');
  assert.equal(taken.status, 409);
  assert.match((taken.env.data as any).txId, /^[0-9a-f]{64}$/);

  // Upload mode: the app signs, the gateway checks and forwards.
  const t = aliceTx({ contract: 'shop_counter', method: 'increment', args: { by: 2 } });
  const committed = await shop.ok('/gw/v1/tx', { tx: t.tx, wait: true });
  assert.equal(committed.status, 'committed');
  assert.equal(committed.txId, t.txId);
  assert.equal(committed.receipt.status, 'ok');
  assert.equal(committed.receipt.result, 2);
  const got = await shop.ok('/gw/v1/tx/get', { txId: t.txId });
  assert.equal(got.txId, t.txId);
  assert.equal(got.contract, 'shop_counter');
  // Another app's tx is not this app's to read.
  const foreign = await vault.call('/gw/v1/tx/get', { txId: t.txId });
  assert.equal(foreign.env.code, 'GW_NOT_FOUND');
  assert.equal(foreign.status, 404);

  // Key trust: the gateway signs as the app's identity.
  const accepted = await vault.ok('/gw/v1/tx', {
    call: { contract: 'counter', method: 'increment', args: { by: 5 } },
  });
  assert.equal(accepted.status, 'accepted');
  const tx = await eventually(async () => {
    const a = await vault.call('/gw/v1/tx/get', { txId: accepted.txId });
    return a.env.code === 'OK' ? (a.env.data as any) : undefined;
  }, 'the key-trust tx to commit');
  assert.equal(tx.receipt.result, 5);
  assert.equal(tx.sender.org, 'org1');
  const waited = await vault.ok('/gw/v1/tx', {
    call: { contract: 'vault_counter', method: 'increment', args: { by: 1 }, gasLimit: '5000000' },
    identity: 'default',
    wait: true,
    timeoutMs: 20_000,
  });
  assert.equal(waited.status, 'committed');
  assert.equal(waited.receipt.result, 6);

  // Query with a proof, checked against the block and validators fetched through the gateway.
  const q = await shop.ok('/gw/v1/query', { contract: 'counter', method: 'get', prove: true });
  assert.equal(q.result, 2);
  const block = await shop.ok('/gw/v1/block', { height: q.proof.height });
  const vs = await shop.ok('/gw/v1/validators', { height: q.proof.height });
  assert.equal(vs.validators.length, 2);
  const verified = verifyQueryProof(p, block, q.proof, vs.validators);
  assert.equal(verified.height, q.proof.height);
  assert.equal((await shop.ok('/gw/v1/validators', {})).validators.length, 2);
  const latest = await shop.ok('/gw/v1/block', { height: 'latest' });
  assert.ok(latest.height >= q.proof.height);
  // A node's error passes through with its code and status.
  const missing = await shop.call('/gw/v1/query', { contract: 'nothing', method: 'get' });
  assert.equal(missing.env.code, 'CONTRACT_NOT_FOUND');
  assert.equal(missing.status, 404);
  const noTx = await shop.call('/gw/v1/tx/get', { txId: 'ab'.repeat(32) });
  assert.equal(noTx.env.code, 'GW_NOT_FOUND');
});

test('events: signed pushes of the app namespace, with the subscription reqId', async () => {
  const v = await vault.subscribe({ contract: 'counter', name: 'Incremented' });
  assert.equal(v.first.code, 'OK');
  assert.deepEqual(v.first.data, { subscribed: true });
  const s = await shop.subscribe({});
  assert.equal(s.first.code, 'OK');
  await vault.ok('/gw/v1/tx', { call: { contract: 'counter', method: 'increment' }, wait: true });
  const e = await eventually(() => v.events[0], 'an event');
  assert.equal(e.code, 'OK');
  assert.equal(e.header.reqId, v.first.header.reqId);
  assert.equal((e.data as any).contract, 'vault_counter');
  assert.equal((e.data as any).name, 'Incremented');
  assert.equal((e.data as any).data.count, 7);
  const t = aliceTx({ contract: 'shop_counter', method: 'increment' });
  await shop.ok('/gw/v1/tx', { tx: t.tx, wait: true });
  const se = await eventually(() => s.events[0], 'the shop event');
  assert.equal((se.data as any).contract, 'shop_counter');
  // Neither saw the other's events.
  assert.ok(s.events.every((x) => (x.data as any).contract === 'shop_counter'));
  assert.ok(v.events.every((x) => (x.data as any).contract === 'vault_counter'));
  v.ws.close();
  s.ws.close();

  // Refused subscriptions: a signed error, then the socket closes.
  const bad = await vault.subscribe({ contract: 'Not-A-Name' });
  assert.equal(bad.first.code, 'GW_FORBIDDEN');
  assert.equal(await bad.closed, 1008);
  const stale = await vault.subscribe({}, { time: Date.now() - 10 * 60_000 });
  assert.equal(stale.first.code, 'GW_STALE_TIME');
  const plain = await fetch(`${gw.url}/gw/v1/events`);
  assert.equal(plain.status, 426);
});

test('bad input: each answered with its signed code, counted, nothing forwarded, the gateway still serving', async () => {
  const before = (await shop.ok('/gw/v1/usage', {})).total;
  const txIds: string[] = [];
  const reqIds: string[] = [];
  const fresh = (by: number) => {
    const t = aliceTx({ contract: 'shop_counter', method: 'increment', args: { by } });
    txIds.push(t.txId);
    return t;
  };
  const expect = async (
    what: string,
    a: { status: number; env: any },
    code: string,
    status: number,
  ) => {
    assert.equal(a.env.code, code, `${what}: ${a.env.code} ${a.env.msg}`);
    assert.equal(a.status, status, what);
  };
  let counted = 0;

  // Bad mac: the mac of another body.
  {
    const env = shop.envelope({ tx: fresh(101).tx });
    const other = shop.envelope({ tx: fresh(102).tx });
    reqIds.push(env.header.reqId);
    const a = await shop.sendRaw(
      '/gw/v1/tx',
      JSON.stringify({ ...env, mac: other.mac }),
      env.header.reqId,
    );
    await expect('bad mac', a, 'GW_BAD_MAC', 401);
    counted++;
  }
  // Unknown app (signed with a real key): nothing to count it against.
  {
    const env = shop.envelope({ tx: fresh(103).tx }, { app: 'app_nobody' });
    const a = await shop.sendRaw('/gw/v1/tx', JSON.stringify(env), env.header.reqId);
    await expect('unknown app', a, 'GW_UNKNOWN_APP', 401);
  }
  // Stale and future time.
  for (const skew of [-6 * 60_000, 6 * 60_000]) {
    const a = await shop.call(
      '/gw/v1/tx',
      { tx: fresh(104 + skew / 60_000).tx },
      { time: Date.now() + skew },
    );
    await expect('stale time', a, 'GW_STALE_TIME', 401);
    counted++;
  }
  // Replayed reqId: the first is served, a second with the same reqId is not (even with another tx).
  {
    const reqId = newReqId();
    await shop.ok('/gw/v1/info', {});
    const first = await shop.call(
      '/gw/v1/query',
      { contract: 'counter', method: 'get' },
      { reqId },
    );
    assert.equal(first.env.code, 'OK');
    const again = await shop.call('/gw/v1/tx', { tx: fresh(105).tx }, { reqId });
    await expect('replay', again, 'GW_REPLAY', 401);
    counted++;
  }
  // Oversized bodies: a signed BODY_TOO_LARGE with no reqId.
  for (const size of [GW_LIMITS.bytes + 1, 3 * GW_LIMITS.bytes]) {
    const env = shop.envelope({ tx: fresh(106).tx, pad: 'x' });
    const text = JSON.stringify(env).replace('"pad":"x"', `"pad":"${'x'.repeat(size)}"`);
    const a = await shop.sendRaw('/gw/v1/tx', text, '');
    await expect('oversized', a, 'BODY_TOO_LARGE', 413);
  }
  // Malformed envelopes.
  const malformed: Array<[string, string | Uint8Array, string, number]> = [
    ['not JSON', '{"header":', 'GW_MALFORMED', 400],
    ['empty', '', 'GW_MALFORMED', 400],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'GW_MALFORMED', 400],
    ['an array', '[]', 'GW_MALFORMED', 400],
    ['too deep', `${'['.repeat(100)}${']'.repeat(100)}`, 'ARGS_TOO_DEEP', 400],
  ];
  for (const [what, body, code, status] of malformed) {
    const a = await shop.sendRaw('/gw/v1/tx', body, '');
    await expect(what, a, code, status);
  }
  {
    // Readable app and reqId, wrong shape: answered to that reqId and counted.
    const env = shop.envelope({ tx: fresh(107).tx });
    const a = await shop.sendRaw(
      '/gw/v1/tx',
      JSON.stringify({ ...env, extra: 1 }),
      env.header.reqId,
    );
    await expect('extra field', a, 'GW_MALFORMED', 400);
    counted++;
    const b = await shop.sendRaw(
      '/gw/v1/tx',
      JSON.stringify({ ...env, mac: 'not base64!' }),
      env.header.reqId,
    );
    await expect('bad mac encoding', b, 'GW_MALFORMED', 400);
    counted++;
  }
  // The body's own checks: namespace, mode, chain, sender, signature.
  const bodyCases: Array<[string, RawApp, Record<string, unknown>, string, number]> = [
    [
      'native contract',
      shop,
      { tx: aliceTx({ contract: 'kv', method: 'put', args: { key: 'a', value: 'b' } }).tx },
      'GW_FORBIDDEN',
      403,
    ],
    [
      'another app namespace',
      shop,
      { tx: aliceTx({ contract: 'vault_counter', method: 'increment' }).tx },
      'GW_FORBIDDEN',
      403,
    ],
    ['query outside', shop, { contract: 'Bad.Name', method: 'get' }, 'GW_FORBIDDEN', 403],
    ['deploy outside', shop, { name: 'x-y', code }, 'GW_FORBIDDEN', 403],
    [
      'wrong chain',
      shop,
      { tx: aliceTx({ contract: 'shop_counter', method: 'increment' }, 'other-chain').tx },
      'GW_FORBIDDEN',
      403,
    ],
    [
      'wrong mode upload',
      shop,
      { call: { contract: 'counter', method: 'increment' } },
      'GW_WRONG_MODE',
      400,
    ],
    ['wrong mode trust', vault, { tx: fresh(108).tx }, 'GW_WRONG_MODE', 400],
    ['junk tx', shop, { tx: 'AAAA' }, 'TX_MALFORMED', 400],
    ['not base64 tx', shop, { tx: '***' }, 'TX_MALFORMED', 400],
    ['unknown field', shop, { tx: fresh(109).tx, foo: 1 }, 'GW_MALFORMED', 400],
    ['bad wait', shop, { tx: fresh(110).tx, wait: 'yes' }, 'GW_MALFORMED', 400],
    [
      'no identity',
      vault,
      { call: { contract: 'counter', method: 'get' }, identity: 'nobody' },
      'GW_NOT_FOUND',
      404,
    ],
  ];
  const paths: Record<string, string> = {
    'query outside': '/gw/v1/query',
    'deploy outside': '/gw/v1/contract/deploy',
  };
  let vaultCounted = 0;
  for (const [what, app, body, code, status] of bodyCases) {
    const a = await app.call(paths[what] ?? '/gw/v1/tx', body);
    await expect(what, a, code, status);
    reqIds.push(a.env.header.reqId);
    if (app === shop) counted++;
    else vaultCounted++;
  }
  assert.ok(vaultCounted > 0);
  // A sender that is not the app's identity: org1's admin signs a tx in the namespace.
  {
    const adminId = Identity.fromUserDir(PROFILE, 'org1', join(net.dir, 'orgs/org1/users/admin'));
    const t = buildAndSign(adminId, CHAIN, { contract: 'shop_counter', method: 'increment' });
    txIds.push(t.txIdHex);
    const a = await shop.call('/gw/v1/tx', { tx: Buffer.from(t.bytes).toString('base64') });
    await expect('foreign sender', a, 'GW_FORBIDDEN', 403);
    counted++;
  }
  // A bad signature: one bit of the signature flipped.
  {
    const t = fresh(111);
    const bytes = Uint8Array.from(t.bytes);
    bytes[bytes.length - 5] ^= 1;
    const a = await shop.call('/gw/v1/tx', { tx: Buffer.from(bytes).toString('base64') });
    await expect('bad signature', a, 'TX_BAD_SIGNATURE', 400);
    counted++;
  }

  // Still serving, every refusal of the known app counted, and nothing accepted.
  const after = (await shop.ok('/gw/v1/usage', {})).total;
  assert.equal(after.rejected - before.rejected, counted);
  assert.equal(after.txs, before.txs);
  for (const r of reqIds) assert.equal(await getRequest(gw.database, shop.appId, r), undefined);
  // None of those txs reached the chain, blocks later.
  const h = (await node.status()).height;
  await eventually(async () => (await node.status()).height >= h + 3, 'three more blocks');
  for (const id of txIds) {
    await assert.rejects(node.getTx(id), (e: any) => e.code === 'NOT_FOUND', id);
  }
});

test('quotas: over tps is 429 QUOTA_TPS with Retry-After while another app is served; tpd gives QUOTA_TPD; both change at run time', async () => {
  await adminOk(gw, 'POST', `/apps/${shop.appId}/quota`, { tps: 1 });
  const burst = Array.from({ length: 6 }, (_, i) =>
    aliceTx({ contract: 'shop_counter', method: 'increment', args: { by: 1000 + i } }),
  );
  const [shopAnswers, vaultAnswers] = await Promise.all([
    Promise.all(burst.map((t) => shop.call('/gw/v1/tx', { tx: t.tx }))),
    Promise.all(
      Array.from({ length: 6 }, () =>
        vault.call('/gw/v1/tx', { call: { contract: 'counter', method: 'increment' } }),
      ),
    ),
  ]);
  const limited = shopAnswers.filter((a) => a.env.code === 'QUOTA_TPS');
  assert.ok(limited.length >= 4, shopAnswers.map((a) => a.env.code).join(' '));
  assert.ok(shopAnswers.every((a) => a.env.code === 'OK' || a.env.code === 'QUOTA_TPS'));
  for (const a of limited) {
    assert.equal(a.status, 429);
    const secs = Number(a.headers.get('retry-after'));
    assert.ok(Number.isInteger(secs) && secs >= 1, String(secs));
    assert.ok((a.env.data as any).retryAfterMs > 0);
  }
  assert.ok(
    vaultAnswers.every((a) => a.env.code === 'OK'),
    vaultAnswers.map((a) => a.env.code).join(' '),
  );
  // Refused ones were not forwarded.
  for (const [i, a] of shopAnswers.entries()) {
    if (a.env.code === 'QUOTA_TPS')
      assert.equal(
        await getRequest(gw.database, shop.appId, a.env.header.reqId),
        undefined,
        String(i),
      );
  }

  // Per day: the next tx is the last of the day.
  const today = (await adminOk(gw, 'GET', `/apps/${vault.appId}`)).usageToday;
  await adminOk(gw, 'POST', `/apps/${vault.appId}/quota`, { tpd: today.txs + 1 });
  assert.equal(
    (await vault.call('/gw/v1/tx', { call: { contract: 'counter', method: 'increment' } })).env
      .code,
    'OK',
  );
  const day = await vault.call('/gw/v1/tx', { call: { contract: 'counter', method: 'increment' } });
  assert.equal(day.env.code, 'QUOTA_TPD');
  assert.equal(day.status, 429);
  const secs = Number(day.headers.get('retry-after'));
  const toMidnight = (86_400_000 - (Date.now() % 86_400_000)) / 1000;
  assert.ok(Math.abs(secs - toMidnight) < 5, `${secs} vs ${toMidnight}`);
  // Queries are not quota'd.
  assert.equal(
    (await vault.call('/gw/v1/query', { contract: 'counter', method: 'get' })).env.code,
    'OK',
  );
  // Lifted at run time.
  const lifted = await adminOk(gw, 'POST', `/apps/${vault.appId}/quota`, { tpd: null });
  assert.equal(lifted.tpd, null);
  await adminOk(gw, 'POST', `/apps/${shop.appId}/quota`, { tps: null });
  assert.equal(
    (await vault.call('/gw/v1/tx', { call: { contract: 'counter', method: 'increment' } })).env
      .code,
    'OK',
  );
});

test('usage, load and bill: txs and queries counted at acceptance, gas from receipts, bytes written', async () => {
  const u = await eventually(async () => {
    const x = await shop.ok('/gw/v1/usage', {});
    return x.total.gas > 0 ? x : undefined;
  }, 'gas counted from receipts');
  assert.ok(u.total.txs >= 3);
  assert.ok(u.total.queries >= 5);
  assert.ok(u.total.bytesWritten > code.length);
  assert.equal(u.rows.length, 1);
  assert.equal(u.rows[0].appId, shop.appId);
  const day = u.rows[0].day;
  assert.deepEqual(
    (await shop.ok('/gw/v1/usage', { from: '2000-01-01', to: '2000-01-02' })).rows,
    [],
  );
  assert.equal((await shop.call('/gw/v1/usage', { from: 'yesterday' })).env.code, 'GW_MALFORMED');

  const all = await adminOk(gw, 'GET', `/usage?tenant=acme&from=${day}&to=${day}`);
  assert.equal(all.rows.length, 2);
  const csv = await admin(gw, 'GET', `/usage?app=${shop.appId}&format=csv`);
  assert.match(csv.text, /^day,tenant_id,app_id,txs,queries,gas,bytes_written,rejected\r\n/);
  assert.ok(csv.text.includes(shop.appId));
  const load = await adminOk(gw, 'GET', '/load');
  assert.equal(load.length, 1);
  assert.equal(load[0].chain, CHAIN);
  assert.equal(load[0].apps, 4);
  assert.ok(load[0].txsToday >= u.total.txs);
  const bill = await adminOk(gw, 'GET', `/bill?tenant=acme&month=${day.slice(0, 7)}`);
  assert.equal(bill.currency, 'USD');
  assert.equal(bill.tenants.length, 1);
  assert.ok(bill.tenants[0].txs >= u.total.txs);
  assert.equal((await admin(gw, 'GET', '/bill?month=2026-13')).status, 400);
});

test('deploy under a policy one organization cannot meet: a proposal by the gateway organization, approved by the other', async () => {
  const admin1 = Identity.fromUserDir(PROFILE, 'org1', join(net.dir, 'orgs/org1/users/admin'));
  const admin2 = Identity.fromUserDir(PROFILE, 'org2', join(net.dir, 'orgs/org2/users/admin'));
  const gov1 = new Governance(node);
  const gov2 = new Governance(new ArchiClient(net.rpc[1], { chainId: CHAIN }));
  const set = await gov1.propose(admin1, 'set_policy', { which: 'lifecycle', policy: 'ALL' });
  await gov2.approve(admin2, set.proposal.id);
  // info reads the chain's config at most every few seconds.
  await eventually(
    async () => (await shop.ok('/gw/v1/info', {})).chain.lifecyclePolicy === 'ALL',
    'the new policy in info',
  );

  const d = await shop.ok('/gw/v1/contract/deploy', { name: 'counter2', code });
  assert.equal(d.status, 'proposed');
  assert.equal(d.proposal.kind, 'contract_deploy');
  assert.equal(d.proposal.status, 'pending');
  assert.equal(d.proposal.args.name, 'shop_counter2');
  await assert.rejects(
    new Contracts(node).info('shop_counter2'),
    (e: any) => e.code === 'CONTRACT_NOT_FOUND',
  );
  await gov2.approve(admin2, d.proposal.id);
  const meta = await new Contracts(node).info('shop_counter2');
  assert.equal(meta.status, 'active');
  const t = aliceTx({ contract: 'shop_counter2', method: 'increment' });
  assert.equal((await shop.ok('/gw/v1/tx', { tx: t.tx, wait: true })).receipt.result, 1);
});

test("a key-trust app's private keys are never in plain text in the database or the logs", async () => {
  const master = loadMasterKey({ file: join(net.dir, 'gateway', 'master.key') });
  const [id] = await listIdentities(gw.database, vault.appId);
  assert.ok(id.encryptedPrivateKey && id.encryptedPrivateKey.length > 40);
  const identityPem = openPrivateKey(
    master,
    PROFILE,
    vault.appId,
    'default',
    id.encryptedPrivateKey,
  );
  const secrets: string[] = [];
  for (const pem of [identityPem, vaultAccessKey]) {
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    secrets.push(...body.filter((l) => l.length >= 20), hex(decodeEcPrivateKeyPem(pem).d));
  }
  secrets.push(readFileSync(join(net.dir, 'gateway', 'master.key'), 'utf8').trim(), gw.adminToken);
  const dump: string[] = [];
  const tables = await gw.database.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'`,
  );
  assert.ok(tables.length >= 7);
  for (const { t } of tables) {
    const rows = await gw.database.query(`SELECT * FROM ${t}`);
    dump.push(JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
  }
  const db = dump.join('\n');
  assert.ok(db.includes(vault.appId));
  assert.ok(!/PRIVATE KEY/.test(db));
  const lines = logs.flat().join('');
  assert.ok(lines.includes('gateway: listening'));
  for (const s of secrets) {
    assert.ok(!db.includes(s), 'a secret is in the database');
    assert.ok(!lines.includes(s), 'a secret is in the log');
  }
  assert.ok(!/PRIVATE KEY/.test(lines));
});

test('the journal: accepted requests are sent again when the gateway starts; a duplicate counts as forwarded', async () => {
  const db = gw.database;
  const now = Date.now();
  // One accepted and never sent (the process died), one sent but not marked.
  const lost = aliceTx({ contract: 'shop_counter', method: 'increment', args: { by: 3 } });
  const sent = aliceTx({ contract: 'shop_counter', method: 'increment', args: { by: 4 } });
  for (const [reqId, t] of [
    ['lost-1', lost],
    ['sent-1', sent],
  ] as const) {
    const r = await acceptRequest(db, {
      appId: shop.appId,
      reqId,
      expiresMs: now + 3_600_000,
      kind: 'tx',
      payload: t.bytes,
      txId: t.txId,
      nowMs: now,
      usage: { bytesWritten: t.bytes.length },
    });
    assert.deepEqual(r, { ok: true });
  }
  await node.submitTx(sent.bytes, { wait: true });
  const url = gw.url;
  await gw.close();
  // Without a port it takes the one network.json records for it: the apps' URL stays.
  gw = await gateway(net.dir, { port: undefined });
  assert.equal(gw.url, url);
  logs.push(gw.logLines);
  assert.equal(await gw.reforwarded, 2);
  for (const r of ['lost-1', 'sent-1']) {
    assert.equal((await getRequest(gw.database, shop.appId, r))?.status, 'forwarded', r);
  }
  const committed = await node.waitForTx(lost.txId, 20_000);
  assert.equal(committed.receipt.status, 'ok');
  // The restarted gateway serves the same apps, keys and token.
  assert.equal((await shop.ok('/gw/v1/tx/get', { txId: lost.txId })).txId, lost.txId);
  assert.equal((await adminOk(gw, 'GET', '/tenants')).length, 2);
});

test("node failover: the chain's next node is tried when one cannot be reached", async () => {
  const log = pino({ level: 'silent' });
  const pool = new NodePool(
    [
      { name: 'gone', org: 'org1', rpc: 'http://127.0.0.1:1' },
      { name: 'node2', org: 'org2', rpc: net.rpc[1] },
    ],
    'org1',
    log,
  );
  await pool.refresh(true);
  const chain = await pool.chain(CHAIN);
  assert.deepEqual(chain.urls, [new URL(net.rpc[1]).origin]);
  const dead = new NodePool(
    [{ name: 'gone', org: 'org1', rpc: 'http://127.0.0.1:1' }],
    'org1',
    log,
  );
  await dead.refresh(true);
  await assert.rejects(dead.chain(CHAIN), (e: any) => e.code === 'CHAIN_NOT_FOUND');
  // A node that served the chain and stops answering is skipped.
  chain.setNodes([
    { name: 'gone', org: 'org1', rpc: 'http://127.0.0.1:1' },
    { name: 'node2', org: 'org2', rpc: net.rpc[1] },
  ]);
  const s = await chain.call((c) => c.status());
  assert.equal(s.node, 'node2');
  // None answers: NOT_READY, after asking the network once more.
  let asked = 0;
  const lone = new ChainNodes(
    CHAIN,
    [{ name: 'gone', org: 'org1', rpc: 'http://127.0.0.1:1' }],
    async () => {
      asked++;
    },
  );
  await assert.rejects(
    lone.call((c) => c.status()),
    (e: any) => e.code === 'NOT_READY',
  );
  assert.equal(asked, 1);
});
