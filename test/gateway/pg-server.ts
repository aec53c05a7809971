/**
 * A real PostgreSQL server for the gateway's database tests. `ARCHI_TEST_PG_URL` names one
 * (a role that may create databases); otherwise Debian's binaries, when installed, make a
 * throwaway cluster in a temp dir (initdb as an unprivileged user: PostgreSQL refuses to run
 * as root), on a free port of 127.0.0.1 with its unix sockets in that dir. Either way the test
 * gets fresh databases with random names, dropped (or thrown away with the cluster) by stop().
 * Without either, the result says why, and the real-PostgreSQL variants skip with that reason.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface RealPostgres {
  /** A database made for this caller. */
  url: string;
  /** Another new empty database. */
  fresh(): Promise<string>;
  stop(): Promise<void>;
}

/** A PostgreSQL server to test against, or why there is none. */
export async function realPostgres(): Promise<RealPostgres | { skip: string }> {
  const given = process.env.ARCHI_TEST_PG_URL;
  if (given) return fromUrl(given);
  return throwawayCluster();
}

/** `url` with its database replaced by `db`. */
function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Fresh databases on a server the caller runs; each dropped by stop(). */
async function databases(adminUrl: string, stopServer: () => Promise<void>): Promise<RealPostgres> {
  const made: string[] = [];
  const fresh = async () => {
    const name = `archi_gw_${randomBytes(6).toString('hex')}`;
    await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
    made.push(name);
    return withDatabase(adminUrl, name);
  };
  const url = await fresh();
  return {
    url,
    fresh,
    async stop() {
      await admin(adminUrl, async (c) => {
        for (const name of made) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }).catch(() => {});
      await stopServer();
    },
  };
}

async function fromUrl(url: string): Promise<RealPostgres | { skip: string }> {
  try {
    return await databases(url, async () => {});
  } catch (err) {
    return { skip: `ARCHI_TEST_PG_URL is set but unusable: ${(err as Error).message}` };
  }
}

function debianBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(
      (v) =>
        existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function throwawayCluster(): Promise<RealPostgres | { skip: string }> {
  const bin = debianBin();
  if (!bin) return { skip: 'no ARCHI_TEST_PG_URL and no /usr/lib/postgresql/*/bin/initdb' };
  // As root, run the server as the Debian `postgres` user; as anyone else, as ourselves.
  let asUser: string[] = [];
  let owner: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const passwd = readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m);
    if (!passwd)
      return { skip: 'running as root and there is no postgres user to run PostgreSQL as' };
    owner = { uid: Number(passwd[1]), gid: Number(passwd[2]) };
    asUser = ['runuser', '-u', 'postgres', '--'];
  }
  const dir = mkdtempSync(join(tmpdir(), 'archi-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const run = (cmd: string, args: string[]) => {
    const full = [...asUser, join(bin, cmd), ...args];
    const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} failed: ${r.error?.message ?? ''}${r.stderr}${r.stdout}`.trim());
  };
  const stopNow = () => {
    const pgCtl = [...asUser, join(bin, 'pg_ctl')];
    spawnSync(pgCtl[0], [...pgCtl.slice(1), '-D', data, '-m', 'immediate', '-w', 'stop'], {
      timeout: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });
  };
  // Should the test process end without stop(), the cluster must not outlive it.
  process.once('exit', stopNow);
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    const port = await freePort();
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '120',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=60`,
      'start',
    ]);
    return await databases(`postgres://postgres@127.0.0.1:${port}/postgres`, async () => {
      process.removeListener('exit', stopNow);
      stopNow();
    });
  } catch (err) {
    process.removeListener('exit', stopNow);
    stopNow();
    return { skip: `could not start a throwaway PostgreSQL: ${(err as Error).message}` };
  }
}
