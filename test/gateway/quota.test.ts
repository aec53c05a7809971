/**
 * Per-app quotas on PGlite and a real PostgreSQL server: a burst over the TPS bucket gets
 * exactly `tps` through and QUOTA_TPS with a retry time for the rest, the bucket refills with
 * the (fake) clock, the day's count gives QUOTA_TPD until UTC midnight, one app's exhaustion or
 * lock leaves another alone, quota changes hold at once, and two gateway processes (two pools)
 * on one server share one quota exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msToUtcMidnight, takeQuota, utcDay } from '../../src/gateway/quota.ts';
import { type AcceptResult, acceptRequest, setQuota } from '../../src/gateway/store.ts';
import { listUsage } from '../../src/gateway/usage.ts';
import type { Db } from '../../src/gateway/db/db.ts';
import { backends, dbTest, seedApp, T0 } from './backends.ts';

let n = 0;
const send = (db: Db, appId: string, nowMs: number): Promise<AcceptResult> =>
  acceptRequest(db, {
    appId,
    reqId: `r${++n}`,
    expiresMs: nowMs + 60_000,
    kind: 'tx',
    nowMs,
    payload: new Uint8Array([1]),
  });

const tally = (results: AcceptResult[]) => {
  const out: Record<string, number> = {};
  for (const r of results) {
    const k = r.ok ? 'ok' : r.code;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
};

const txsOn = async (db: Db, appId: string, day: string) =>
  (await listUsage(db, { appId, from: day, to: day }))[0]?.txs ?? 0;

test('utcDay and msToUtcMidnight', () => {
  assert.equal(utcDay(T0), '2026-03-14');
  assert.equal(msToUtcMidnight(T0), 14 * 3_600_000);
  assert.equal(msToUtcMidnight(Date.UTC(2026, 2, 15)), 86_400_000);
  assert.equal(utcDay(Date.UTC(2026, 2, 15) - 1), '2026-03-14');
});

for (const b of await backends()) {
  dbTest(
    b,
    'a burst of 50 at tps 5: exactly 5 pass, the rest QUOTA_TPS with a retry time',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      const app = await seedApp(db, { tps: 5 });
      const results = await Promise.all(Array.from({ length: 50 }, () => send(db, app.id, T0)));
      assert.deepEqual(tally(results), { ok: 5, QUOTA_TPS: 45 });
      for (const r of results)
        if (!r.ok) assert.deepEqual(r, { ok: false, code: 'QUOTA_TPS', retryAfterMs: 200 });
      assert.equal(await txsOn(db, app.id, '2026-03-14'), 5);
      const [journal] = await db.query<{ n: number }>(
        'SELECT count(*) AS n FROM requests WHERE app_id = $1',
        [app.id],
      );
      assert.equal(journal.n, 5, 'a refused request leaves no journal row');
    },
  );

  dbTest(
    b,
    'the bucket refills at tps per second up to tps, on the caller clock',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      const app = await seedApp(db, { tps: 5 });
      for (let i = 0; i < 5; i++) assert.ok((await send(db, app.id, T0)).ok);
      assert.deepEqual(await send(db, app.id, T0 + 100), {
        ok: false,
        code: 'QUOTA_TPS',
        retryAfterMs: 100,
      });
      assert.deepEqual(await send(db, app.id, T0 + 200), { ok: true });
      assert.deepEqual(await send(db, app.id, T0 + 200), {
        ok: false,
        code: 'QUOTA_TPS',
        retryAfterMs: 200,
      });
      // A clock that runs behind the last take (another process) refills nothing.
      assert.deepEqual(await send(db, app.id, T0 + 50), {
        ok: false,
        code: 'QUOTA_TPS',
        retryAfterMs: 200,
      });
      // A long pause fills the bucket to its capacity, not beyond.
      const later = await Promise.all(
        Array.from({ length: 20 }, () => send(db, app.id, T0 + 60_000)),
      );
      assert.deepEqual(tally(later), { ok: 5, QUOTA_TPS: 15 });
      assert.equal(await txsOn(db, app.id, '2026-03-14'), 11);
    },
  );

  dbTest(b, 'the day limit gives QUOTA_TPD until UTC midnight', async ({ dbs }) => {
    const db = await dbs.open(await b.fresh());
    const app = await seedApp(db, { tpd: 3 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => send(db, app.id, T0 + i)),
    );
    assert.deepEqual(tally(results), { ok: 3, QUOTA_TPD: 3 });
    const r = await send(db, app.id, T0 + 1000);
    assert.deepEqual(r, { ok: false, code: 'QUOTA_TPD', retryAfterMs: msToUtcMidnight(T0 + 1000) });
    const midnight = T0 + 1000 + (r.ok ? 0 : r.retryAfterMs);
    assert.equal(utcDay(midnight), '2026-03-15');
    assert.ok((await send(db, app.id, midnight)).ok);
    assert.equal(await txsOn(db, app.id, '2026-03-14'), 3);
    assert.equal(await txsOn(db, app.id, '2026-03-15'), 1);
  });

  dbTest(b, "one app's exhausted quota leaves another app's requests alone", async ({ dbs }) => {
    const db = await dbs.open(await b.fresh());
    const a = await seedApp(db, { tps: 5 });
    const other = await seedApp(db, { tps: 5 });
    const [burst, others] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, () => send(db, a.id, T0))),
      Promise.all(Array.from({ length: 5 }, () => send(db, other.id, T0))),
    ]);
    assert.deepEqual(tally(burst), { ok: 5, QUOTA_TPS: 45 });
    assert.deepEqual(tally(others), { ok: 5 });
  });

  dbTest(b, 'a refused take changes nothing in its transaction', async ({ dbs }) => {
    const db = await dbs.open(await b.fresh());
    const app = await seedApp(db, { tps: 1, tpd: 10 });
    const bucket = () =>
      db.query('SELECT tokens, updated_ms FROM quota_buckets WHERE app_id = $1', [app.id]);
    assert.ok((await db.tx((q) => takeQuota(q, app.id, T0))).ok);
    const before = await bucket();
    const r = await db.tx((q) => takeQuota(q, app.id, T0 + 500));
    assert.deepEqual(r, { ok: false, code: 'QUOTA_TPS', retryAfterMs: 500 });
    assert.deepEqual(await bucket(), before);
    assert.equal(await txsOn(db, app.id, '2026-03-14'), 1);
  });

  dbTest(b, 'setQuota holds from the next request: raise, lower, lift', async ({ dbs }) => {
    const db = await dbs.open(await b.fresh());
    const app = await seedApp(db, { tps: 2 });
    assert.deepEqual(tally(await Promise.all([1, 2, 3].map(() => send(db, app.id, T0)))), {
      ok: 2,
      QUOTA_TPS: 1,
    });
    await setQuota(db, app.id, { tps: 10 });
    // One second at the new rate fills the new capacity.
    const more = await Promise.all(Array.from({ length: 12 }, () => send(db, app.id, T0 + 1000)));
    assert.deepEqual(tally(more), { ok: 10, QUOTA_TPS: 2 });
    const lowered = await setQuota(db, app.id, { tpd: 12 });
    assert.equal(lowered.tps, 10, 'an omitted limit stays');
    assert.deepEqual(await send(db, app.id, T0 + 5000), {
      ok: false,
      code: 'QUOTA_TPD',
      retryAfterMs: msToUtcMidnight(T0 + 5000),
    });
    await setQuota(db, app.id, { tps: null, tpd: null });
    assert.deepEqual(
      tally(await Promise.all(Array.from({ length: 30 }, () => send(db, app.id, T0 + 5000)))),
      { ok: 30 },
    );
  });

  if (b.name === 'postgres') {
    dbTest(
      b,
      'two gateway processes (two pools) on one server share one quota exactly',
      async ({ dbs }) => {
        const spec = await b.fresh();
        const one = await dbs.open(spec, { poolSize: 8 });
        const two = await dbs.open(spec, { poolSize: 8 });
        const app = await seedApp(one, { tps: 5 });
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => send(i % 2 ? one : two, app.id, T0)),
        );
        assert.deepEqual(tally(results), { ok: 5, QUOTA_TPS: 45 });
        assert.equal(await txsOn(two, app.id, '2026-03-14'), 5);
        // A quota change made through one process holds in the other at once.
        await setQuota(one, app.id, { tps: 1 });
        const next = await Promise.all(
          Array.from({ length: 4 }, (_, i) => send(i % 2 ? one : two, app.id, T0 + 1000)),
        );
        assert.deepEqual(tally(next), { ok: 1, QUOTA_TPS: 3 });
      },
    );

    dbTest(
      b,
      "one app's bucket lock does not block another app; the same app waits",
      async ({ dbs }) => {
        const spec = await b.fresh();
        const one = await dbs.open(spec);
        const two = await dbs.open(spec);
        const a = await seedApp(one, { tps: 5 });
        const other = await seedApp(one, { tps: 5 });
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => {
          locked = r;
        });
        // Process one takes a's quota and keeps its transaction open.
        const holder = one.tx(async (q) => {
          assert.ok((await takeQuota(q, a.id, T0)).ok);
          locked();
          await held;
        });
        await isLocked;
        // Process two is not held up for the other app...
        assert.deepEqual(await send(two, other.id, T0), { ok: true });
        // ...but waits for a's lock, and then sees the committed take.
        let done = false;
        const waiting = two
          .tx((q) => takeQuota(q, a.id, T0))
          .then((r) => {
            done = true;
            return r;
          });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(done, false, 'a take of the same app waits for the lock');
        release();
        await holder;
        assert.ok((await waiting).ok);
        assert.equal(await txsOn(one, a.id, '2026-03-14'), 2);
      },
    );
  } else {
    test('two gateway processes share one quota [pglite]', (t) => {
      t.skip(
        'an embedded PGlite database is open in one process only (GW_DB_LOCKED); see the postgres variant',
      );
    });
  }
}
