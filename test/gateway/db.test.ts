/**
 * The gateway database handle and its migrations, on PGlite and on a real PostgreSQL server:
 * migrations apply once and are idempotent, several processes migrating at once apply each
 * exactly once, a database newer than the code is refused, and failures to reach or open a
 * database are typed errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ArchiError } from '../../src/errors/index.ts';
import { openDb } from '../../src/gateway/db/db.ts';
import {
  MIGRATIONS,
  type Migration,
  migrate,
  schemaVersion,
} from '../../src/gateway/db/migrations.ts';
import { backends, dbTest } from './backends.ts';

const isCode = (code: string) => (err: unknown) => err instanceof ArchiError && err.code === code;

/** Versions this code knows (1..N), and one beyond them. */
const N = MIGRATIONS.length;
const ALL = MIGRATIONS.map((m) => m.version);
const V2: Migration = {
  version: N + 1,
  name: 'a later one',
  sql: 'CREATE TABLE later (x int); INSERT INTO later VALUES (1);',
};

for (const b of await backends()) {
  dbTest(
    b,
    'migrate applies every migration once; running it again applies nothing',
    async ({ dbs }) => {
      const spec = await b.fresh();
      const db = await dbs.open(spec, { migrate: false });
      assert.equal(await schemaVersion(db), 0);
      assert.deepEqual(await migrate(db), { applied: ALL, version: N });
      assert.deepEqual(await migrate(db), { applied: [], version: N });
      const tables = await db.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      assert.deepEqual(
        tables.map((r) => r.t),
        [
          'app_identities',
          'apps',
          'quota_buckets',
          'requests',
          'schema_migrations',
          'tenants',
          'usage_daily',
        ],
      );
      // A restart finds the schema current.
      await dbs.close(db);
      const again = await dbs.open(spec, { migrate: false });
      assert.equal(await schemaVersion(again), N);
      assert.deepEqual(await migrate(again), { applied: [], version: N });
      // A later version applies on top, alone.
      assert.deepEqual(await migrate(again, [...MIGRATIONS, V2]), {
        applied: [N + 1],
        version: N + 1,
      });
      assert.deepEqual(await again.query('SELECT x FROM later'), [{ x: 1 }]);
      const rows = await again.query<{ version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        [...ALL, N + 1],
      );
    },
  );

  dbTest(
    b,
    'several processes migrating at once apply each migration exactly once',
    async ({ dbs }) => {
      const spec = await b.fresh();
      // On PostgreSQL, separate pools stand for separate gateway processes. PGlite has one
      // connection per process, so there the callers share one handle.
      const handles =
        b.name === 'postgres'
          ? await Promise.all(
              [1, 2, 3, 4].map(() => dbs.open(spec, { migrate: false, poolSize: 2 })),
            )
          : await dbs.open(spec, { migrate: false }).then((db) => [db, db, db, db]);
      const results = await Promise.all(handles.map((db) => migrate(db, [...MIGRATIONS, V2])));
      assert.deepEqual(results.map((r) => r.applied).sort(), [[], [], [], [...ALL, N + 1]]);
      assert.ok(results.every((r) => r.version === N + 1));
      const [count] = await handles[0].query<{ n: number }>(
        'SELECT count(*) AS n FROM schema_migrations',
      );
      assert.equal(count.n, N + 1);
      assert.deepEqual(await handles[0].query('SELECT x FROM later'), [{ x: 1 }]);
    },
  );

  dbTest(
    b,
    'a database with a version this code does not know is refused, unchanged',
    async ({ dbs }) => {
      const spec = await b.fresh();
      const db = await dbs.open(spec, { migrate: false });
      await migrate(db, [...MIGRATIONS, V2]);
      await assert.rejects(migrate(db), (err) => {
        assert.ok(isCode('GW_DB_TOO_NEW')(err), String(err));
        assert.match(
          (err as Error).message,
          new RegExp(`schema version ${N + 1} \\(a later one\\).*knows up to ${N}`),
        );
        return true;
      });
      assert.equal(await schemaVersion(db), N + 1);
    },
  );

  dbTest(
    b,
    'a handle that was closed, or whose connection the server cut, is GW_DB_UNAVAILABLE',
    async ({ dbs }) => {
      const spec = await b.fresh();
      const db = await dbs.open(spec);
      if (b.name === 'postgres') {
        const other = await dbs.open(spec, { migrate: false });
        // Cut a connection in the middle of a statement: an idle one may be dropped and
        // replaced by the pool before the next query, which then succeeds (a race).
        const cut = db.query('SELECT pg_sleep(60)');
        cut.catch(() => {});
        for (;;) {
          const [r] = await other.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = 'SELECT pg_sleep(60)'",
          );
          if (r.n > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await other.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        await assert.rejects(cut, isCode('GW_DB_UNAVAILABLE'));
        // The pool replaces the dead connection: the handle serves again.
        assert.deepEqual(await db.query('SELECT 1 AS x'), [{ x: 1 }]);
      }
      await dbs.close(db);
      await assert.rejects(db.query('SELECT 1'), isCode('GW_DB_UNAVAILABLE'));
      await assert.rejects(
        db.tx((q) => q.query('SELECT 1')),
        isCode('GW_DB_UNAVAILABLE'),
      );
    },
  );

  dbTest(
    b,
    'a failed transaction changes nothing; both drivers give numbers, day text and bytes',
    async ({ dbs }) => {
      const db = await dbs.open(await b.fresh());
      await assert.rejects(
        db.tx(async (q) => {
          await q.query(`INSERT INTO tenants (id, name, created_ms) VALUES ('t1', 'one', 1)`);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await db.query('SELECT * FROM tenants'), []);
      const [row] = await db.query<Record<string, unknown>>(
        `SELECT 9007199254740991::bigint AS big, '2026-03-01'::date AS day, '\\x0102'::bytea AS b, '{"a":1}'::jsonb AS j`,
      );
      assert.equal(row.big, Number.MAX_SAFE_INTEGER);
      assert.equal(row.day, '2026-03-01');
      assert.deepEqual(new Uint8Array(row.b as Uint8Array), new Uint8Array([1, 2]));
      assert.deepEqual(row.j, { a: 1 });
    },
  );
}

test('a PostgreSQL server that cannot be reached is GW_DB_UNAVAILABLE, without the password', async () => {
  await assert.rejects(openDb('postgres://gw:secret@127.0.0.1:1/gateway'), (err) => {
    assert.ok(isCode('GW_DB_UNAVAILABLE')(err), String(err));
    assert.doesNotMatch((err as Error).message, /secret/);
    return true;
  });
});

test('an embedded database open in a live process is GW_DB_LOCKED; a dead one leaves it free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archi-gw-lock-'));
  try {
    const first = await openDb(dir);
    try {
      await assert.rejects(openDb(dir), isCode('GW_DB_LOCKED'));
    } finally {
      await first.close();
    }
    // kill -9 leaves the lock file behind with the pid of a process that is gone.
    const gone = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    writeFileSync(join(dir, 'gateway.lock'), `${gone}\n`);
    const second = await openDb(dir);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an embedded database directory that cannot be created is GW_DB_UNAVAILABLE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archi-gw-bad-'));
  try {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    await assert.rejects(openDb(join(file, 'db')), isCode('GW_DB_UNAVAILABLE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
