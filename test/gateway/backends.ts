/**
 * The two database backends every gateway storage test runs on: PGlite in a temp dir and a
 * real PostgreSQL server (pg-server.ts). Each `fresh()` is a new empty database, given as the
 * spec `openDb` takes, so a test can also reopen it (a restart) or open it twice (two gateway
 * processes on one server). A new PGlite cluster costs seconds of initdb, so the first one is
 * made once as a template and each fresh one is a copy of its files.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { type Db, openDb } from '../../src/gateway/db/db.ts';
import { migrate } from '../../src/gateway/db/migrations.ts';
import { type App, createApp, createTenant, getTenant } from '../../src/gateway/store.ts';
import { realPostgres } from './pg-server.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Why this backend's tests are skipped. */
  skip?: string;
  /** A new empty database. */
  fresh(): Promise<string>;
}

/** Both backends; everything they made is removed after the file's tests. */
export async function backends(): Promise<Backend[]> {
  const root = mkdtempSync(join(tmpdir(), 'archi-gw-db-'));
  let template: Promise<string> | undefined;
  let n = 0;
  const makeTemplate = async () => {
    const dir = join(root, 'template');
    await (await openDb(dir)).close();
    return dir;
  };
  const pglite: Backend = {
    name: 'pglite',
    async fresh() {
      template ??= makeTemplate();
      const dir = join(root, `db${++n}`);
      cpSync(await template, dir, { recursive: true });
      return dir;
    },
  };
  const server = await realPostgres();
  const postgres: Backend =
    'skip' in server
      ? { name: 'postgres', skip: server.skip, fresh: () => Promise.reject(new Error(server.skip)) }
      : { name: 'postgres', fresh: server.fresh };
  after(async () => {
    if (!('skip' in server)) await server.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return [pglite, postgres];
}

/** Databases a test opened, closed when it ends (also when it fails). */
export class Opened {
  private dbs: Db[] = [];
  /** Opens `spec` (and migrates it unless told not to). */
  async open(spec: string, options: { migrate?: boolean; poolSize?: number } = {}): Promise<Db> {
    const db = await openDb(spec, { poolSize: options.poolSize });
    this.dbs.push(db);
    if (options.migrate !== false) await migrate(db);
    return db;
  }
  /** Closes one early (a restart). */
  async close(db: Db): Promise<void> {
    this.dbs = this.dbs.filter((d) => d !== db);
    await db.close();
  }
  async closeAll(): Promise<void> {
    const dbs = this.dbs;
    this.dbs = [];
    await Promise.all(dbs.map((d) => d.close().catch(() => {})));
  }
}

/** A test that runs on `b`, skipped with its reason when `b` is unavailable. */
export function dbTest(
  b: Backend,
  name: string,
  fn: (ctx: { b: Backend; dbs: Opened; t: TestContext }) => Promise<void>,
): void {
  test(`${name} [${b.name}]`, async (t) => {
    if (b.skip) {
      t.skip(b.skip);
      return;
    }
    const dbs = new Opened();
    try {
      await fn({ b, dbs, t });
    } finally {
      await dbs.closeAll();
    }
  });
}

let seq = 0;

/** A tenant (made once per name) and an app of it with the given quotas. */
export async function seedApp(
  db: Db,
  options: {
    tenant?: string;
    name?: string;
    tps?: number | null;
    tpd?: number | null;
    nowMs?: number;
    mode?: 'upload' | 'trust';
  } = {},
): Promise<App> {
  const nowMs = options.nowMs ?? T0;
  const tenantName = options.tenant ?? 'acme';
  const t =
    (await getTenant(db, tenantName)) ?? (await createTenant(db, { name: tenantName, nowMs }));
  const name = options.name ?? `app${++seq}`;
  return createApp(db, {
    tenantId: t.id,
    name,
    chainId: 'main',
    namespace: `${tenantName}_${name}`.toLowerCase().replace(/[^a-z0-9_]/g, '_'),
    crypto: 'standard',
    accessPublicKey: `04${'ab'.repeat(64)}`,
    mode: options.mode,
    tps: options.tps,
    tpd: options.tpd,
    nowMs,
  });
}

/** A fixed start time: 2026-03-14 10:00:00 UTC. */
export const T0 = Date.UTC(2026, 2, 14, 10, 0, 0);
