/**
 * The gateway's database handle: the same SQL on PGlite (PostgreSQL compiled to WASM, embedded,
 * file-backed; the zero-set-up default) and on a PostgreSQL server through a `pg.Pool` (how an
 * operator scales out: several gateway processes on one server). Both return `bigint` columns
 * as JS numbers (every count and millisecond time we store stays far below 2^53) and `date`
 * columns as their `YYYY-MM-DD` text, so no caller sees which one it talks to.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { ArchiError } from '../../errors/index.ts';

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/** What a statement runs on: the database itself or one open transaction. */
export interface Queryable {
  /** One statement with `$1`-style parameters; its rows. */
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction (READ COMMITTED): committed if it returns, rolled back if it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** Connections of the pool (PostgreSQL only; PGlite has one). Default 10. */
  poolSize?: number;
}

const INT8 = 20;
const DATE = 1082;

/** Opens `spec`: a `postgres://` or `postgresql://` URL, or else a directory for an embedded PGlite database (created if missing). */
export async function openDb(spec: string, options: OpenDbOptions = {}): Promise<Db> {
  return /^postgres(ql)?:\/\//i.test(spec) ? openPostgres(spec, options) : openPglite(spec);
}

/** The SQLSTATE of a database error (both drivers put it on `code`), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when `err` means the server or the connection is gone, not that the statement was wrong. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ArchiError) return err.code === 'GW_DB_UNAVAILABLE';
  const state = sqlState(err);
  // 08: connection exception; 57P0x: server shutting down or starting; 53300: too many
  // connections; 3D000: no such database; 28: authentication.
  if (state)
    return (
      /^(08|28)/.test(state) || /^57P0[1-3]$/.test(state) || state === '53300' || state === '3D000'
    );
  const code = (err as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    /^(ECONN|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)/.test(code)
  ) {
    return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|PGlite is closed|Cannot use a pool after calling end|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

function unavailable(where: string, err: unknown): ArchiError {
  const why = err instanceof Error ? err.message : String(err);
  return new ArchiError(
    'GW_DB_UNAVAILABLE',
    `gateway database ${where}: ${why || 'connection failed'}`,
  );
}

/** Rethrows connection failures as GW_DB_UNAVAILABLE; statement errors (SQLSTATE) pass as they are. */
function mapError(where: string): (err: unknown) => never {
  return (err) => {
    throw isConnectionError(err) && !(err instanceof ArchiError) ? unavailable(where, err) : err;
  };
}

/** Runs `f`, mapping its failure (a synchronous throw included: a closed PGlite throws at once) as mapError does. */
async function guard<T>(where: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    return mapError(where)(err);
  }
}

/** Hides the password of a URL in messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

async function openPostgres(url: string, options: OpenDbOptions): Promise<Db> {
  const where = redact(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8) return (v: string) => Number(v);
        if (oid === DATE) return (v: string) => v;
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would end
  // the process. The next query fails on its own and is reported as GW_DB_UNAVAILABLE.
  pool.on('error', () => {});
  const run = (c: pg.Pool | pg.PoolClient): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) =>
      (await guard(where, () => c.query(sql, params as unknown[]))).rows as T[],
    exec: async (sql: string) => {
      // Without parameters pg uses the simple protocol, which runs several statements.
      await guard(where, () => c.query(sql));
    },
  });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw isConnectionError(err) ? unavailable(where, err) : err;
  }
  return {
    kind: 'postgres',
    ...run(pool),
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await guard(where, () => pool.connect());
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await fn(run(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr; // a connection that cannot roll back must not go back to the pool
        }
        return mapError(where)(err);
      } finally {
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * PGlite keeps its files in `<dir>/pgdata`; `<dir>/gateway.lock` holds the pid of the process
 * that has it open, since two PGlite instances on one directory would corrupt it (unlike a
 * PostgreSQL server, the embedded database has no postmaster to refuse a second one).
 */
async function openPglite(dir: string): Promise<Db> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw unavailable(dir, err);
  }
  const lock = join(dir, 'gateway.lock');
  takeLock(lock);
  let db: PGlite;
  try {
    db = await PGlite.create(join(dir, 'pgdata'), {
      parsers: { [INT8]: (v: string) => Number(v), [DATE]: (v: string) => v },
    });
  } catch (err) {
    rmSync(lock, { force: true });
    throw unavailable(dir, err);
  }
  const where = dir;
  const run = (c: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) =>
      (await guard(where, () => c.query<T>(sql, params as unknown[]))).rows,
    exec: async (sql: string) => {
      await guard(where, () => c.exec(sql));
    },
  });
  return {
    kind: 'pglite',
    ...run(db),
    // PGlite has one connection; its transaction() queues callers, so transactions never interleave.
    tx: <T>(fn: (q: Queryable) => Promise<T>) =>
      guard(where, () => db.transaction((t) => fn(run(t)))),
    async close() {
      try {
        await db.close();
      } finally {
        rmSync(lock, { force: true });
      }
    },
  };
}

/** Creates the lock file, taking it over when the process that wrote it is gone (kill -9). */
function takeLock(lock: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unavailable(lock, err);
    }
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new ArchiError(
        'GW_DB_LOCKED',
        `gateway database ${lock.slice(0, -'/gateway.lock'.length)} is open in process ${pid} (remove ${lock} if that process is not a gateway)`,
      );
    }
    rmSync(lock, { force: true });
  }
  throw new ArchiError(
    'GW_DB_LOCKED',
    `gateway database lock ${lock} is being taken by another process`,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
