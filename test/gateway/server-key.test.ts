/**
 * The gateway on a key-mode chain of the gm profile (one organization, solo; nodes and
 * gateway in this process, PGlite): app identities' keys are registered on chain with
 * `org_keys.register` by the gateway organization's admin before the app is answered (an app
 * whose registration fails is removed), SM2 keys and signatures throughout, every app
 * endpoint in both key modes, and events signed with the gateway's SM2 key.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getProfile } from '../../src/crypto/profile.ts';
import type { RunningGateway } from '../../src/gateway/gateway.ts';
import { getRequest, getApp, listIdentities } from '../../src/gateway/store.ts';
import { startNode } from '../../src/node/node.ts';
import { join } from 'node:path';
import pino from 'pino';
import { ArchiClient } from '../../src/sdk/client.ts';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import { listKeys } from '../../src/sdk/org-keys.ts';
import { verifyQueryProof } from '../../src/sdk/verify.ts';
import { buildContract } from '../../src/vm/sandbox/index.ts';
import {
  admin,
  adminOk,
  gateway,
  type LocalNetwork,
  makeCsr,
  RawApp,
  startNetwork,
} from './server-helpers.ts';

const PROFILE = 'gm';
const CHAIN = 'archipelago-local';
const COUNTER = fileURLToPath(new URL('../../contracts/counter.ts', import.meta.url));
const p = getProfile(PROFILE);

let net: LocalNetwork;
let gw: RunningGateway;
let code: string;
let node: ArchiClient;

before(async () => {
  net = await startNetwork({ orgs: 1, crypto: 'gm', identity: 'key' });
  gw = await gateway(net.dir, { reforwardEveryMs: 500, reforwardAfterMs: 1_000 });
  node = new ArchiClient(net.rpc[0], { chainId: CHAIN });
  code = (await buildContract(COUNTER)).code;
  await adminOk(gw, 'POST', '/tenants', { name: 'acme' });
});

after(async () => {
  await gw?.close();
  await net?.stop();
});

test('upload mode on a key chain: the public key is registered on chain, the app signs with SM2', async () => {
  const access = p.generateKeyPair();
  const bob = p.generateKeyPair();
  const created = await adminOk(gw, 'POST', '/apps', {
    tenant: 'acme',
    name: 'ledger',
    chain: CHAIN,
    accessPublicKey: p.publicKeyToPem(access.publicKey),
    identities: [{ name: 'bob', publicKey: p.publicKeyToPem(bob.publicKey) }],
  });
  assert.equal(created.app.crypto, 'gm');
  assert.deepEqual(created.identities, [
    { name: 'bob', org: 'org1', publicKey: Buffer.from(bob.publicKey).toString('hex'), cert: null },
  ]);
  const keys = await listKeys(node, 'org1');
  const reg = keys.find((k) => k.publicKey === created.identities[0].publicKey);
  assert.deepEqual(reg, {
    org: 'org1',
    name: `${created.app.id}.bob`,
    role: 'client',
    publicKey: created.identities[0].publicKey,
  });

  const app = new RawApp(
    gw.url,
    created.app.id,
    PROFILE,
    access.privateKeyPem,
    created.gateway.publicKeys.gm,
  );
  const info = await app.ok('/gw/v1/info', {});
  assert.deepEqual(info.chain, {
    chainId: CHAIN,
    crypto: 'gm',
    identityMode: 'key',
    lifecyclePolicy: 'ANY',
  });
  const d = await app.ok('/gw/v1/contract/deploy', { name: 'counter', code });
  assert.equal(d.status, 'deployed');
  assert.equal(d.contract.name, 'ledger_counter');

  const id = Identity.fromPem(PROFILE, 'org1', bob.privateKeyPem, created.identities[0].publicKey);
  const tx = buildAndSign(id, CHAIN, {
    contract: 'ledger_counter',
    method: 'increment',
    args: { by: 3 },
  });
  const sub = await app.subscribe({ contract: 'counter' });
  assert.equal(sub.first.code, 'OK');
  const r = await app.ok('/gw/v1/tx', { tx: Buffer.from(tx.bytes).toString('base64'), wait: true });
  assert.equal(r.status, 'committed');
  assert.equal(r.receipt.status, 'ok', r.receipt.message);
  assert.equal(r.receipt.result, 3);
  assert.equal((await app.ok('/gw/v1/tx/get', { txId: tx.txIdHex })).txId, tx.txIdHex);
  const q = await app.ok('/gw/v1/query', { contract: 'counter', method: 'get', prove: true });
  assert.equal(q.result, 3);
  const block = await app.ok('/gw/v1/block', { height: q.proof.height });
  const vs = await app.ok('/gw/v1/validators', { height: q.proof.height });
  verifyQueryProof(p, block, q.proof, vs.validators);
  for (let i = 0; i < 50 && sub.events.length === 0; i++)
    await new Promise((res) => setTimeout(res, 100));
  assert.equal((sub.events[0]?.data as any)?.name, 'Incremented');
  sub.ws.close();

  // A key of this profile that is not one of the app's identities signs nothing through it.
  const other = Identity.fromPem(PROFILE, 'org1', p.generateKeyPair().privateKeyPem);
  const foreign = buildAndSign(other, CHAIN, { contract: 'ledger_counter', method: 'increment' });
  const refused = await app.call('/gw/v1/tx', {
    tx: Buffer.from(foreign.bytes).toString('base64'),
  });
  assert.equal(refused.env.code, 'GW_FORBIDDEN');
});

test('key trust on a key chain: SM2 keys made and registered by the gateway, sealed at rest', async () => {
  const created = await adminOk(gw, 'POST', '/apps', {
    tenant: 'acme',
    name: 'safe',
    chain: CHAIN,
    mode: 'trust',
    identities: ['ops', 'audit'],
  });
  assert.match(created.accessPrivateKey, /BEGIN PRIVATE KEY/);
  const keys = (await listKeys(node, 'org1')).map((k) => k.name);
  assert.ok(keys.includes(`${created.app.id}.ops`) && keys.includes(`${created.app.id}.audit`));
  const app = new RawApp(
    gw.url,
    created.app.id,
    PROFILE,
    created.accessPrivateKey,
    created.gateway.publicKeys.gm,
  );
  await app.ok('/gw/v1/contract/deploy', { name: 'counter', code });
  const r = await app.ok('/gw/v1/tx', {
    call: { contract: 'counter', method: 'increment', args: { by: 2 } },
    identity: 'ops',
    wait: true,
  });
  assert.equal(r.receipt.status, 'ok', r.receipt.message);
  const tx = await node.getTx(r.txId);
  assert.equal(tx.sender.org, 'org1');
  // The first identity (by name) when none is named.
  const r2 = await app.ok('/gw/v1/tx', {
    call: { contract: 'safe_counter', method: 'increment' },
    wait: true,
  });
  assert.equal(r2.receipt.result, 3);
  const ids = await listIdentities(gw.database, created.app.id);
  assert.ok(ids.every((i) => i.encryptedPrivateKey !== null && i.certPem === null));
  assert.ok((await getApp(gw.database, created.app.id))?.accessPublicKey.includes('PUBLIC KEY'));
});

test('key chains refuse CSRs; a registration the chain refuses leaves no app behind', async () => {
  const access = p.generateKeyPair();
  const k = p.generateKeyPair();
  const body = (over: Record<string, unknown>) => ({
    tenant: 'acme',
    name: 'again',
    chain: CHAIN,
    accessPublicKey: p.publicKeyToPem(access.publicKey),
    identities: [{ name: 'x', publicKey: p.publicKeyToPem(k.publicKey) }],
    ...over,
  });
  const csr = await admin(
    gw,
    'POST',
    '/apps',
    body({ identities: [{ name: 'x', csr: makeCsr(PROFILE, k.privateKeyPem, 'x') }] }),
  );
  assert.equal(csr.status, 400);
  assert.equal(csr.body.error.code, 'BAD_REQUEST');
  const standardKey = getProfile('standard').generateKeyPair().publicKey;
  const wrong = await admin(
    gw,
    'POST',
    '/apps',
    body({
      identities: [{ name: 'x', publicKey: getProfile('standard').publicKeyToPem(standardKey) }],
    }),
  );
  assert.equal(wrong.body.error.code, 'GW_KEY_INVALID');
  // The chain refuses a key registered already (the org admin's own).
  const adminKey = (await listKeys(node, 'org1')).find((x) => x.role === 'admin')!;
  const pem = p.publicKeyToPem(Uint8Array.from(Buffer.from(adminKey.publicKey, 'hex')));
  const dup = await admin(
    gw,
    'POST',
    '/apps',
    body({ identities: [{ name: 'x', publicKey: pem }] }),
  );
  assert.equal(dup.body.error.code, 'INVALID_ARGS', dup.text);
  const names = (await adminOk(gw, 'GET', '/apps')).map((a: any) => a.name);
  assert.ok(!names.includes('again'));
  // The name and namespace are free again.
  const ok = await adminOk(gw, 'POST', '/apps', body({}));
  assert.equal(ok.app.namespace, 'again');
});

test('no node of the chain answers: NOT_READY with the tx id, the request kept and sent once a node is back', async () => {
  const created = await adminOk(gw, 'POST', '/apps', {
    tenant: 'acme',
    name: 'patient',
    chain: CHAIN,
    mode: 'trust',
  });
  const app = new RawApp(
    gw.url,
    created.app.id,
    PROFILE,
    created.accessPrivateKey,
    created.gateway.publicKeys.gm,
  );
  await app.ok('/gw/v1/contract/deploy', { name: 'counter', code });
  await net.nodes[0].stop();
  const down = await app.call('/gw/v1/tx', {
    call: { contract: 'counter', method: 'increment', args: { by: 9 } },
  });
  assert.equal(down.env.code, 'NOT_READY', down.env.msg);
  assert.equal(down.status, 503);
  const txId = (down.env.data as any).txId;
  assert.match(txId, /^[0-9a-f]{64}$/);
  assert.equal(
    (await getRequest(gw.database, app.appId, down.env.header.reqId))?.status,
    'accepted',
  );
  // Queries fail the same way, and the gateway keeps serving.
  assert.equal(
    (await app.call('/gw/v1/query', { contract: 'counter', method: 'get' })).env.code,
    'NOT_READY',
  );
  // info answers from the chain config read a moment ago.
  assert.equal((await app.call('/gw/v1/info', {})).env.code, 'OK');
  net.nodes[0] = await startNode(
    join(net.dir, 'nodes', 'node1', 'node.json'),
    pino({ level: 'silent' }),
  );
  const committed = await node.waitForTx(txId, 30_000);
  assert.equal(committed.receipt.result, 9);
  for (let i = 0; i < 50; i++) {
    if ((await getRequest(gw.database, app.appId, down.env.header.reqId))?.status === 'forwarded')
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(
    (await getRequest(gw.database, app.appId, down.env.header.reqId))?.status,
    'forwarded',
  );
  assert.equal((await app.ok('/gw/v1/tx/get', { txId })).receipt.result, 9);
});
