/**
 * The gateway store on PGlite and a real PostgreSQL server: tenants, apps and identities with
 * their refusals; the journal (replayed reqIds refused and changing nothing, accepted requests
 * surviving a kill -9 of the process to be forwarded again, counted once); usage counted
 * exactly, per app per day and per tenant, and its CSV.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ArchiError } from '../../src/errors/index.ts';
import {
  acceptRequest,
  addIdentity,
  countRejected,
  createApp,
  createTenant,
  getApp,
  getRequest,
  getTenant,
  listApps,
  listIdentities,
  listTenants,
  markFailed,
  markForwarded,
  pendingForwards,
  purgeExpired,
  recordReceipt,
} from '../../src/gateway/store.ts';
import { listUsage, tenantTotals, usageCsv } from '../../src/gateway/usage.ts';
import { backends, dbTest, seedApp, T0 } from './backends.ts';

const isCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ArchiError && err.code === code, `expected ${code}, got ${String(err)}`);
  return true;
};

const DAY = 86_400_000;
const CHILD = fileURLToPath(new URL('./fixtures/accept-child.ts', import.meta.url));

for (const b of await backends()) {
  dbTest(b, 'tenants, apps and identities, and what they refuse', async ({ dbs }) => {
    const db = await dbs.open(await b.fresh());
    const acme = await createTenant(db, { name: 'acme', nowMs: T0 });
    assert.match(acme.id, /^t_[0-9a-f]{20}$/);
    await assert.rejects(createTenant(db, { name: 'acme', nowMs: T0 }), isCode('GW_EXISTS'));
    await assert.rejects(createTenant(db, { name: 'bad name', nowMs: T0 }), isCode('BAD_REQUEST'));
    const beta = await createTenant(db, { name: 'beta', nowMs: T0 + 1, id: 't_beta' });
    assert.deepEqual(await getTenant(db, 'acme'), acme);
    assert.deepEqual(await getTenant(db, 't_beta'), beta);
    assert.equal(await getTenant(db, 'nobody'), undefined);
    assert.deepEqual(await listTenants(db), [acme, beta]);

    const base = {
      chainId: 'main',
      crypto: 'standard' as const,
      accessPublicKey: '-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n',
      nowMs: T0,
    };
    const shop = await createApp(db, {
      ...base,
      tenantId: acme.id,
      name: 'shop',
      namespace: 'acme_shop',
      tps: 5,
    });
    assert.deepEqual(
      { ...shop, id: '' },
      {
        id: '',
        tenantId: acme.id,
        name: 'shop',
        chainId: 'main',
        mode: 'upload',
        namespace: 'acme_shop',
        crypto: 'standard',
        accessPublicKey: base.accessPublicKey,
        tps: 5,
        tpd: null,
        createdMs: T0,
      },
    );
    assert.deepEqual(await getApp(db, shop.id), shop);
    await assert.rejects(
      createApp(db, { ...base, tenantId: acme.id, name: 'shop', namespace: 'other' }),
      isCode('GW_EXISTS'),
    );
    await assert.rejects(
      createApp(db, { ...base, tenantId: beta.id, name: 'shop', namespace: 'acme_shop' }),
      isCode('GW_EXISTS'),
      'a namespace is unique on its chain',
    );
    await assert.rejects(
      createApp(db, { ...base, tenantId: 't_none', name: 'x', namespace: 'x' }),
      isCode('GW_NOT_FOUND'),
    );
    for (const bad of [
      { tps: 0 },
      { tpd: 1.5 },
      { namespace: 'Has-Caps' },
      { mode: 'both' },
      { crypto: 'rsa' },
    ]) {
      await assert.rejects(
        createApp(db, {
          ...base,
          tenantId: acme.id,
          name: 'y',
          namespace: 'y',
          ...(bad as object),
        }),
        isCode('BAD_REQUEST'),
        JSON.stringify(bad),
      );
    }
    const vault = await createApp(db, {
      ...base,
      crypto: 'gm',
      chainId: 'gmchain',
      tenantId: beta.id,
      name: 'shop',
      namespace: 'acme_shop',
      mode: 'trust',
    });
    assert.deepEqual(
      (await listApps(db, { tenantId: acme.id })).map((a) => a.name),
      ['shop'],
    );
    assert.deepEqual((await listApps(db)).map((a) => a.id).sort(), [shop.id, vault.id].sort());
    // The key mode (and chain) never change, whatever writes the row.
    await assert.rejects(
      db.query(`UPDATE apps SET mode = 'trust' WHERE id = $1`, [shop.id]),
      /never change/,
    );
    assert.equal((await getApp(db, shop.id))?.mode, 'upload');

    const secret = new Uint8Array([9, 8, 7, 0, 255]);
    await assert.rejects(
      addIdentity(db, {
        appId: shop.id,
        name: 'alice',
        publicKey: 'pk',
        encryptedPrivateKey: secret,
        nowMs: T0,
      }),
      isCode('BAD_REQUEST'),
      'an uploaded-key app never hands over a private key',
    );
    const alice = await addIdentity(db, {
      appId: shop.id,
      name: 'alice',
      publicKey: 'pk-a',
      certPem: 'CERT',
      nowMs: T0,
    });
    assert.deepEqual(alice, {
      appId: shop.id,
      name: 'alice',
      publicKey: 'pk-a',
      certPem: 'CERT',
      encryptedPrivateKey: null,
      createdMs: T0,
    });
    await assert.rejects(
      addIdentity(db, { appId: shop.id, name: 'alice', publicKey: 'pk-b', nowMs: T0 }),
      isCode('GW_EXISTS'),
    );
    await assert.rejects(
      addIdentity(db, { appId: 'app_none', name: 'x', publicKey: 'p', nowMs: T0 }),
      isCode('GW_NOT_FOUND'),
    );
    await addIdentity(db, {
      appId: vault.id,
      name: 'bob',
      publicKey: 'pk-b',
      encryptedPrivateKey: secret,
      nowMs: T0,
    });
    const [bob] = await listIdentities(db, vault.id);
    assert.deepEqual(bob.encryptedPrivateKey, secret);
    assert.deepEqual(
      (await listIdentities(db, shop.id)).map((i) => i.name),
      ['alice'],
    );
  });

  dbTest(
    b,
    'a replayed reqId is GW_REPLAY and changes nothing, also when sent at once',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      const app = await seedApp(db, { tps: 100 });
      const other = await seedApp(db, { tps: 100 });
      const req = {
        appId: app.id,
        reqId: 'same',
        expiresMs: T0 + 60_000,
        kind: 'tx' as const,
        nowMs: T0,
      };
      assert.deepEqual(
        await acceptRequest(db, { ...req, payload: new Uint8Array([1]), txId: 'tx1' }),
        { ok: true },
      );
      assert.deepEqual(
        await acceptRequest(db, { ...req, payload: new Uint8Array([2]), txId: 'tx2' }),
        {
          ok: false,
          code: 'GW_REPLAY',
        },
      );
      assert.deepEqual((await getRequest(db, app.id, 'same'))?.payload, new Uint8Array([1]));
      // The same reqId of another app is another request.
      assert.deepEqual(await acceptRequest(db, { ...req, appId: other.id }), { ok: true });
      // Ten copies of one new request at once: one is accepted.
      const copies = await Promise.all(
        Array.from({ length: 10 }, () =>
          acceptRequest(db, { ...req, reqId: 'burst', nowMs: T0 + 1 }),
        ),
      );
      assert.equal(copies.filter((r) => r.ok).length, 1);
      assert.ok(copies.every((r) => r.ok || r.code === 'GW_REPLAY'));
      assert.equal((await listUsage(db, { appId: app.id }))[0].txs, 2);
      await assert.rejects(acceptRequest(db, { ...req, reqId: '' }), isCode('BAD_REQUEST'));
      await assert.rejects(
        acceptRequest(db, { ...req, appId: 'app_none', reqId: 'x' }),
        isCode('GW_NOT_FOUND'),
      );
    },
  );

  dbTest(
    b,
    'killed with kill -9 and restarted: accepted requests are forwarded again, none counted twice',
    async ({ dbs }) => {
      const spec = await b.fresh();
      const db = await dbs.open(spec);
      const app = await seedApp(db, { tps: 100 });
      await dbs.close(db); // the gateway process owns the database now
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, spec, app.id, '7', String(T0)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      const exited = once(child, 'exit');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => out.includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
      });
      child.kill('SIGKILL');
      const [, signal] = await exited;
      assert.equal(signal, 'SIGKILL');

      // The restarted gateway (its lock file names a dead process, so it opens).
      const again = await dbs.open(spec);
      const pending = await pendingForwards(again, { limit: 100 });
      assert.deepEqual(
        pending.map((p) => [p.reqId, p.txId, [...(p.payload ?? [])]]),
        [
          ['c1', 'tx1', [1, 255]],
          ['c3', 'tx3', [3, 255]],
          ['c5', 'tx5', [5, 255]],
        ],
      );
      assert.deepEqual(await pendingForwards(again, { limit: 2 }).then((p) => p.length), 2);
      assert.deepEqual(
        await pendingForwards(again, { limit: 100, beforeMs: T0 }),
        [],
        'none older than T0',
      );
      // A client retrying a request the dead process accepted is refused, not counted again.
      assert.deepEqual(
        await acceptRequest(again, {
          appId: app.id,
          reqId: 'c1',
          expiresMs: T0 + 60_000,
          kind: 'tx',
          nowMs: T0 + 5,
        }),
        { ok: false, code: 'GW_REPLAY' },
      );
      for (const p of pending)
        assert.equal(
          await markForwarded(again, p.appId, p.reqId, { txId: p.txId ?? undefined }),
          true,
        );
      assert.equal(await markForwarded(again, app.id, 'c1'), false, 'forwarded once');
      assert.deepEqual(await pendingForwards(again, { limit: 100 }), []);
      const [usage] = await listUsage(again, { appId: app.id });
      assert.equal(usage.txs, 7);
      assert.equal(usage.bytesWritten, 70);
      assert.deepEqual((await getRequest(again, app.id, 'c0'))?.response, { txId: 'tx0' });
    },
  );

  dbTest(
    b,
    'usage counts exactly: txs, queries, gas, bytes, rejections, by day and tenant',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      const a = await seedApp(db, { tenant: 'acme', name: 'shop', tps: 2 });
      const c = await seedApp(db, { tenant: 'acme', name: 'crm' });
      const z = await seedApp(db, { tenant: 'zeta', name: 'zz' });
      let n = 0;
      const send = async (appId: string, nowMs: number, kind: 'tx' | 'query' = 'tx') => {
        const reqId = `u${++n}`;
        const r = await acceptRequest(db, { appId, reqId, expiresMs: nowMs + 60_000, kind, nowMs });
        if (!r.ok) assert.equal(await countRejected(db, appId, nowMs), true);
        return { r, reqId };
      };
      // Day 1: shop sends 5 txs (2 pass, 3 over quota), 3 queries; crm 1 tx.
      const day1 = await Promise.all([1, 2, 3, 4, 5].map(() => send(a.id, T0)));
      for (let i = 0; i < 3; i++) assert.ok((await send(a.id, T0, 'query')).r.ok);
      await send(c.id, T0);
      // A replay is counted as a rejection by the caller too.
      const first = day1.find((x) => x.r.ok);
      assert.ok(first);
      const replay = await acceptRequest(db, {
        appId: a.id,
        reqId: first.reqId,
        expiresMs: T0 + 1,
        kind: 'tx',
        nowMs: T0 + 10,
      });
      assert.equal(replay.ok, false);
      await countRejected(db, a.id, T0 + 10);
      assert.equal(
        await countRejected(db, 'app_none', T0),
        false,
        'an unknown app has no usage row',
      );
      // Receipts count gas and bytes once, on the day the request was accepted.
      assert.equal(
        await recordReceipt(db, { appId: a.id, reqId: first.reqId, gas: 1500, bytesWritten: 300 }),
        true,
      );
      assert.equal(
        await recordReceipt(db, { appId: a.id, reqId: first.reqId, gas: 1500, bytesWritten: 300 }),
        false,
      );
      // Day 2: shop 1 tx with its receipt a day later; zeta 1 query.
      const d2 = await send(a.id, T0 + DAY);
      await recordReceipt(db, { appId: a.id, reqId: d2.reqId, gas: 10, bytesWritten: 1 });
      await send(z.id, T0 + DAY, 'query');

      const rows = await listUsage(db);
      const acme = (await getTenant(db, 'acme'))?.id ?? '';
      const zeta = (await getTenant(db, 'zeta'))?.id ?? '';
      const view = rows.map((r) => [
        r.appId === a.id ? 'shop' : r.appId === c.id ? 'crm' : 'zz',
        r.day,
        r.txs,
        r.queries,
        r.gas,
        r.bytesWritten,
        r.rejected,
      ]);
      assert.deepEqual(
        view.sort((x, y) => String(x).localeCompare(String(y))),
        [
          ['crm', '2026-03-14', 1, 0, 0, 0, 0],
          ['shop', '2026-03-14', 2, 3, 1500, 300, 4],
          ['shop', '2026-03-15', 1, 0, 10, 1, 0],
          ['zz', '2026-03-15', 0, 1, 0, 0, 0],
        ],
      );
      assert.deepEqual(
        await listUsage(db, { appId: a.id, from: '2026-03-15' }).then((r) => r.map((x) => x.day)),
        ['2026-03-15'],
      );
      assert.deepEqual(await listUsage(db, { tenantId: zeta }).then((r) => r.length), 1);
      assert.deepEqual(await tenantTotals(db), [
        ...[
          { tenantId: acme, txs: 4, queries: 3, gas: 1510, bytesWritten: 301, rejected: 4 },
          { tenantId: zeta, txs: 0, queries: 1, gas: 0, bytesWritten: 0, rejected: 0 },
        ].sort((x, y) => (x.tenantId < y.tenantId ? -1 : 1)),
      ]);
      assert.deepEqual(await tenantTotals(db, { tenantId: acme, to: '2026-03-14' }), [
        { tenantId: acme, txs: 3, queries: 3, gas: 1500, bytesWritten: 300, rejected: 4 },
      ]);
      const csv = usageCsv(await listUsage(db, { tenantId: acme }));
      const lines = csv.split('\r\n');
      assert.equal(lines[0], 'day,tenant_id,app_id,txs,queries,gas,bytes_written,rejected');
      assert.equal(lines.length, 1 + 3 + 1, 'header, one line per app per day, final CRLF');
      assert.ok(lines.includes(`2026-03-14,${acme},${a.id},2,3,1500,300,4`), csv);
    },
  );

  dbTest(
    b,
    'markFailed, and purgeExpired forgets old reqIds but never one still to forward',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      const app = await seedApp(db);
      const req = (reqId: string, expiresMs: number) =>
        acceptRequest(db, { appId: app.id, reqId, expiresMs, kind: 'tx', nowMs: T0 });
      await req('done', T0 + 1000);
      await req('bad', T0 + 1000);
      await req('stuck', T0 + 1000);
      await req('fresh', T0 + 9000);
      await acceptRequest(db, {
        appId: app.id,
        reqId: 'q',
        expiresMs: T0 + 1000,
        kind: 'query',
        nowMs: T0,
      });
      assert.equal(
        await markForwarded(db, app.id, 'done', { txId: 'tx-done', response: { ok: 1 } }),
        true,
      );
      assert.equal(await markFailed(db, app.id, 'bad', { code: 'TX_BAD_SIGNATURE' }), true);
      assert.equal(await markFailed(db, app.id, 'bad', {}), false);
      const bad = await getRequest(db, app.id, 'bad');
      assert.equal(bad?.status, 'failed');
      assert.deepEqual(bad?.response, { code: 'TX_BAD_SIGNATURE' });
      assert.equal((await getRequest(db, app.id, 'done'))?.txId, 'tx-done');
      assert.equal(
        (await getRequest(db, app.id, 'q'))?.status,
        'forwarded',
        'a query has nothing to forward again',
      );
      assert.deepEqual((await pendingForwards(db, { limit: 10 })).map((p) => p.reqId).sort(), [
        'fresh',
        'stuck',
      ]);
      assert.equal(await purgeExpired(db, T0 + 5000), 3);
      assert.equal(await getRequest(db, app.id, 'done'), undefined);
      assert.equal((await getRequest(db, app.id, 'stuck'))?.status, 'accepted');
      assert.equal(await purgeExpired(db, T0 + 5000), 0);
    },
  );
}
