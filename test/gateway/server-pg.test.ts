/**
 * Two gateways on one real PostgreSQL server (ARCHI_TEST_PG_URL, or a throwaway cluster made
 * with Debian's initdb/pg_ctl; skipped without either) in front of one local network (one
 * organization, solo; nodes and gateways in this process): both serve the same apps with the
 * same keys, enforce one quota between them (per day exactly, per second within the bucket's
 * refill), refuse a reqId the other one accepted, count usage exactly, and keep a key-trust
 * app's private keys out of the database in plain text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeEcPrivateKeyPem } from '../../src/crypto/keys.ts';
import type { RunningGateway } from '../../src/gateway/gateway.ts';
import { hex } from '../../src/types/hex.ts';
import { buildContract } from '../../src/vm/sandbox/index.ts';
import { realPostgres } from './pg-server.ts';
import { adminOk, gateway, type LocalNetwork, RawApp, startNetwork } from './server-helpers.ts';

const CHAIN = 'archipelago-local';
const COUNTER = fileURLToPath(new URL('../../contracts/counter.ts', import.meta.url));

const server = await realPostgres();
const skip = 'skip' in server ? server.skip : undefined;

let net: LocalNetwork;
let gw1: RunningGateway & { logLines: string[] };
let gw2: RunningGateway & { logLines: string[] };

before(async () => {
  if (skip) return;
  const url = (server as { url: string }).url;
  net = await startNetwork({ orgs: 1 });
  gw1 = await gateway(net.dir, { db: url });
  gw2 = await gateway(net.dir, { db: url, id: 'gw-2' });
  await adminOk(gw1, 'POST', '/tenants', { name: 'acme' });
});

after(async () => {
  await gw1?.close();
  await gw2?.close();
  await net?.stop();
  if (!('skip' in server)) await server.stop();
});

/** A key-trust app made through gw1 (its counter deployed, then `quota` set), and a client of it for each gateway. */
async function trustApp(name: string, quota?: { tps?: number; tpd?: number }) {
  const c = await adminOk(gw1, 'POST', '/apps', {
    tenant: 'acme',
    name,
    chain: CHAIN,
    mode: 'trust',
  });
  const key = c.gateway.publicKeys.standard;
  const app = {
    created: c,
    via1: new RawApp(gw1.url, c.app.id, 'standard', c.accessPrivateKey, key),
    via2: new RawApp(gw2.url, c.app.id, 'standard', c.accessPrivateKey, key),
  };
  if (quota) {
    await app.via1.ok('/gw/v1/contract/deploy', { name: 'counter', code: await counterCode() });
    await adminOk(gw2, 'POST', `/apps/${c.app.id}/quota`, quota);
    // The bucket refills from its last take: a second fills it.
    await new Promise((r) => setTimeout(r, 1_100));
  }
  return app;
}

let built: Promise<string> | undefined;
const counterCode = () => {
  built ??= buildContract(COUNTER).then((b) => b.code);
  return built;
};

test('two gateways on one PostgreSQL serve the same apps with the same keys; the first is recorded', {
  skip,
}, async () => {
  assert.equal(gw1.db, 'postgres');
  assert.equal(gw2.db, 'postgres');
  const recorded = JSON.parse(readFileSync(join(net.dir, 'network.json'), 'utf8')).gateway;
  assert.deepEqual(recorded, { url: gw1.url, id: 'gw-1', org: 'org1', db: 'postgres' });
  assert.ok(!JSON.stringify(recorded).includes('postgres://'));
  assert.equal(gw2.adminToken, gw1.adminToken);
  const { via1, via2 } = await trustApp('both');
  const a = await via1.call('/gw/v1/info', {});
  const b = await via2.call('/gw/v1/info', {});
  assert.equal(a.env.header.gateway, 'gw-1');
  assert.equal(b.env.header.gateway, 'gw-2');
  const { gateway: g1, ...rest1 } = a.env.data as any;
  const { gateway: g2, ...rest2 } = b.env.data as any;
  assert.deepEqual(rest1, rest2);
  assert.deepEqual([g1.id, g2.id], ['gw-1', 'gw-2']);
  const code = await counterCode();
  assert.equal(
    (await via2.ok('/gw/v1/contract/deploy', { name: 'counter', code })).status,
    'deployed',
  );
  const r = await via1.ok('/gw/v1/tx', {
    call: { contract: 'counter', method: 'increment' },
    wait: true,
  });
  assert.equal(r.receipt.result, 1);
  // Sent through gw1, read through gw2.
  assert.equal((await via2.ok('/gw/v1/tx/get', { txId: r.txId })).txId, r.txId);
  // A reqId one gateway accepted is a replay at the other.
  const env = via1.envelope({});
  assert.equal(
    (await via1.sendRaw('/gw/v1/info', JSON.stringify(env), env.header.reqId)).env.code,
    'OK',
  );
  const again = await via2.sendRaw('/gw/v1/info', JSON.stringify(env), env.header.reqId);
  assert.equal(again.env.code, 'GW_REPLAY');
  assert.equal(again.status, 401);
});

test('one quota between both gateways: per day exactly, per second within the refill; usage exact', {
  skip,
}, async () => {
  const day = await trustApp('daily', { tpd: 10 });
  const call = { call: { contract: 'counter', method: 'increment' } };
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => (i % 2 ? day.via1 : day.via2).call('/gw/v1/tx', call)),
  );
  const codes = answers.map((a) => a.env.code);
  // The deploy took one of the day's 10.
  assert.equal(codes.filter((c) => c === 'OK').length, 9, codes.join(' '));
  assert.equal(codes.filter((c) => c === 'QUOTA_TPD').length, 11, codes.join(' '));
  const u = (await day.via2.ok('/gw/v1/usage', {})).total;
  assert.equal(u.txs, 10); // the deploy and 9 calls
  assert.equal(u.rejected, 11);

  const sec = await trustApp('persec', { tps: 5 });
  const started = Date.now();
  const burst = await Promise.all(
    Array.from({ length: 30 }, (_, i) => (i % 2 ? sec.via1 : sec.via2).call('/gw/v1/tx', call)),
  );
  const elapsed = (Date.now() - started) / 1000;
  const ok = burst.filter((a) => a.env.code === 'OK').length;
  assert.ok(ok >= 5 && ok <= 5 + Math.ceil(elapsed * 5), `${ok} in ${elapsed} s`);
  assert.ok(burst.every((a) => a.env.code === 'OK' || a.env.code === 'QUOTA_TPS'));
  const limited = burst.filter((a) => a.env.code === 'QUOTA_TPS');
  assert.ok(limited.every((a) => a.status === 429 && Number(a.headers.get('retry-after')) >= 1));
  const su = (await sec.via1.ok('/gw/v1/usage', {})).total;
  assert.equal(su.txs, ok + 1); // and the deploy
  assert.equal(su.rejected, 30 - ok);
});

test("a key-trust app's private keys are not in the PostgreSQL database in plain text", {
  skip,
}, async () => {
  const { created } = await trustApp('sealed');
  const d = hex(decodeEcPrivateKeyPem(created.accessPrivateKey).d);
  const dump: string[] = [];
  const tables = await gw1.database.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'`,
  );
  for (const { t } of tables) {
    const rows = await gw1.database.query(`SELECT * FROM ${t}`);
    dump.push(JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
  }
  const text = dump.join('\n');
  assert.ok(text.includes(created.app.id));
  assert.ok(!text.includes(d));
  assert.ok(!text.includes('PRIVATE KEY'));
  const logs = [...gw1.logLines, ...gw2.logLines].join('');
  assert.ok(!logs.includes(d) && !logs.includes('PRIVATE KEY'));
});
