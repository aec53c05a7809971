/**
 * The gateway process in one place: reads the network directory D, makes its state files in
 * D/gateway/ on first start (response-signing keys per profile, the admin token, the master
 * key unless one is given, the PGlite database unless --db names a PostgreSQL server), opens
 * and migrates the database, finds the chains of the network's nodes, serves the HTTP API,
 * records itself as network.json `gateway`, re-sends the journal's accepted requests and
 * forgets expired request ids every minute. `archi gateway start` and `archi up` call
 * startGateway; tests run it in-process.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { ProfileName } from '../crypto/interfaces.ts';
import { getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../errors/index.ts';
import { DEFAULT_MAX_SKEW_MS, GW_ID_RE } from '../types/gateway-envelope.ts';
import {
  generateMasterKeyFile,
  loadMasterKey,
  MASTER_KEY_ENV,
  type MasterKey,
} from './app-keys.ts';
import { AppCache, type GatewayContext, type GatewayKey, orgLookups } from './context.ts';
import { type Db, openDb } from './db/db.ts';
import { migrate } from './db/migrations.ts';
import { Forwarder, NodePool, reforwardPending } from './forwarder.ts';
import { type GatewayRecord, readNetwork, recordGateway } from './network.ts';
import { createGatewayServer } from './server.ts';
import { purgeExpired } from './store.ts';

/** Options of startGateway (the flags of `archi gateway start`). */
export interface GatewayOptions {
  /** The network directory D (network.json, orgs/...). */
  dir: string;
  /** A `postgres://` URL; default: the embedded PGlite database in D/gateway/db. */
  db?: string;
  /**
   * Port to listen on. 0: a free one. Default: the port network.json records for this gateway
   * id when it is free (so apps keep their URL across restarts), else a free one.
   */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The organization the gateway acts for (default: the org of network.json's first node). */
  org?: string;
  /** The gateway's id (default gw-1). */
  id?: string;
  /** The master key file (else ARCHI_GW_MASTER_KEY, else D/gateway/master.key, made on first start). */
  masterKeyFile?: string;
  /** Logger (default: pino JSON lines on stderr, so stdout stays the CLI's). */
  logger?: Logger;
  /** Allowed clock skew of envelopes (default 5 minutes). */
  maxSkewMs?: number;
  /** How long a tx's journal row is kept for tx/get (default 30 days). */
  txRetentionMs?: number;
  /** Validity of issued app certificates in days (default 365). */
  certValidityDays?: number;
  /** How often accepted requests not yet sent are sent again (default 10 s). */
  reforwardEveryMs?: number;
  /** How old an accepted request must be for that round to send it again (default 30 s). */
  reforwardAfterMs?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Environment to read ARCHI_GW_MASTER_KEY from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** A running gateway. */
export interface RunningGateway {
  /** Its base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  id: string;
  org: string;
  /** D/gateway. */
  stateDir: string;
  /** The operator's bearer token (D/gateway/admin.token). */
  adminToken: string;
  /** Which database it serves: the embedded one or a PostgreSQL server. */
  db: 'pglite' | 'postgres';
  /** The open database (tests look into it). */
  database: Db;
  ctx: GatewayContext;
  /** Settles once the first re-forward of the journal's accepted requests is done (how many settled). */
  reforwarded: Promise<number>;
  /** Stops accepting, finishes the requests in flight, closes the node feeds and the database. */
  close(): Promise<void>;
}

const DEFAULT_ID = 'gw-1';
const PURGE_EVERY_MS = 60_000;
const REFORWARD_EVERY_MS = 10_000;
/** A request accepted this long ago and not yet marked is sent again by the periodic round. */
const REFORWARD_AFTER_MS = 30_000;
const DAY_MS = 86_400_000;

/** A secret file made once (mode 0600, written then linked so no reader sees it half-written). */
function fileOnce(path: string, make: () => string): string {
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, make(), { mode: 0o600 });
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
  }
  return readFileSync(path, 'utf8');
}

function gatewayKey(stateDir: string, profile: ProfileName): GatewayKey {
  const p = getProfile(profile);
  const pem = fileOnce(
    join(stateDir, `gateway.${profile}.key.pem`),
    () => p.generateKeyPair().privateKeyPem,
  );
  const signer = p.signerFromPem(pem);
  return { signer, publicKeyPem: p.publicKeyToPem(signer.publicKey) };
}

function masterKey(o: GatewayOptions, stateDir: string): MasterKey {
  if (o.masterKeyFile !== undefined) return loadMasterKey({ file: resolve(o.masterKeyFile) });
  const env = o.env ?? process.env;
  if ((env[MASTER_KEY_ENV] ?? '').trim() !== '') return loadMasterKey({ env });
  const file = join(stateDir, 'master.key');
  if (!existsSync(file)) {
    try {
      generateMasterKeyFile(file);
    } catch (e) {
      if (!existsSync(file)) throw e; // another process made it meanwhile
    }
  }
  return loadMasterKey({ file });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return isIPv6(host) ? `[${host}]` : host;
}

function portOf(url: string): number | undefined {
  try {
    const p = Number(new URL(url).port);
    return Number.isInteger(p) && p > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

/** True when the gateway recorded at `url` answers its health check. */
async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/gw/v1/health`, { signal: AbortSignal.timeout(1_000) });
    return r.ok && ((await r.json()) as { ok?: unknown })?.ok === true;
  } catch {
    return false;
  }
}

/**
 * Starts a gateway for the network in `o.dir` and resolves once it listens (see the module
 * comment); `stop()` ends it. Used by `archi gateway start` and `archi up`.
 */
export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const dir = resolve(o.dir);
  const network = readNetwork(dir);
  const id = o.id ?? DEFAULT_ID;
  if (!GW_ID_RE.test(id)) {
    throw new ArchiError('BAD_REQUEST', `gateway id must match ${GW_ID_RE.source}`);
  }
  const org = o.org ?? network.nodes[0].org;
  if (!org)
    throw new ArchiError(
      'CONFIG_INVALID',
      'network.json names no org for its first node; pass --org',
    );
  if (!network.nodes.some((n) => n.org === org) && !existsSync(join(dir, 'orgs', org))) {
    throw new ArchiError('CONFIG_INVALID', `no organization ${org} in ${dir}`);
  }
  const stateDir = join(dir, 'gateway');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const log = o.logger ?? pino({ base: { gateway: id } }, pino.destination(2));
  const keys = { standard: gatewayKey(stateDir, 'standard'), gm: gatewayKey(stateDir, 'gm') };
  const adminToken = fileOnce(
    join(stateDir, 'admin.token'),
    () => `${randomBytes(32).toString('hex')}\n`,
  ).trim();
  const master = masterKey(o, stateDir);
  const db = await openDb(o.db ?? join(stateDir, 'db'));
  const timers: NodeJS.Timeout[] = [];
  let fwd: Forwarder | undefined;
  let server: ReturnType<typeof createGatewayServer> | undefined;
  try {
    const migrated = await migrate(db);
    if (migrated.applied.length > 0) {
      log.info(
        { applied: migrated.applied, version: migrated.version },
        'gateway: database migrated',
      );
    }
    const pool = new NodePool(network.nodes, org, log);
    await pool.refresh(true);
    fwd = new Forwarder(pool, db, log);
    const settings = {
      id,
      org,
      dir,
      networkCrypto: network.crypto,
      maxSkewMs: o.maxSkewMs ?? DEFAULT_MAX_SKEW_MS,
      txRetentionMs: o.txRetentionMs ?? 30 * DAY_MS,
      certValidityDays: o.certValidityDays ?? 365,
    };
    const ctx: GatewayContext = {
      ...settings,
      ...orgLookups(settings),
      db,
      log,
      fwd,
      master,
      keys,
      adminToken,
      apps: new AppCache(db),
      url: '',
      now: o.now ?? Date.now,
    };
    server = createGatewayServer(ctx);
    const host = o.host ?? '127.0.0.1';
    const recorded = network.gateway?.id === id ? portOf(network.gateway.url) : undefined;
    let port = o.port ?? recorded ?? 0;
    try {
      await server.listen({ host, port });
    } catch (e) {
      if (o.port !== undefined || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      port = 0;
      await server.listen({ host, port });
    }
    port = (server.server.address() as { port: number }).port;
    ctx.url = `http://${urlHost(host)}:${port}`;

    // The first gateway of the network is the one network.json names.
    const mine: GatewayRecord = { url: ctx.url, id, org, db: db.kind };
    const other = network.gateway;
    if (!other || other.url === ctx.url || other.id === id || !(await answers(other.url))) {
      recordGateway(dir, mine);
    }
    log.info({ url: ctx.url, org, db: db.kind, chains: pool.known() }, 'gateway: listening');

    const appOf = async (appId: string) => (await ctx.apps.get(appId))?.app;
    const f = fwd;
    const reforwarded = reforwardPending(db, f, appOf, log, ctx.now() + 1).catch((e) => {
      log.warn({ err: (e as Error).message }, 'gateway: re-forward on start failed');
      return 0;
    });
    void f.watchAll().catch(() => {});
    let rounds = Promise.resolve(0);
    timers.push(
      setInterval(() => {
        rounds = rounds.then(() =>
          reforwardPending(
            db,
            f,
            appOf,
            log,
            ctx.now() - (o.reforwardAfterMs ?? REFORWARD_AFTER_MS),
          ).catch(() => 0),
        );
      }, o.reforwardEveryMs ?? REFORWARD_EVERY_MS),
      setInterval(() => {
        purgeExpired(db, ctx.now()).then(
          (n) => n > 0 && log.debug({ purged: n }, 'gateway: expired request ids forgotten'),
          (e) => log.warn({ err: (e as Error).message }, 'gateway: purge failed'),
        );
      }, PURGE_EVERY_MS),
    );
    for (const t of timers) t.unref();

    let stopping: Promise<void> | undefined;
    const srv = server;
    return {
      url: ctx.url,
      id,
      org,
      stateDir,
      adminToken,
      db: db.kind,
      database: db,
      ctx,
      reforwarded,
      close() {
        stopping ??= (async () => {
          for (const t of timers) clearInterval(t);
          await srv.close();
          await f.close();
          await rounds.catch(() => {});
          await reforwarded.catch(() => {});
          await db.close();
          log.info('gateway: stopped');
        })();
        return stopping;
      },
    };
  } catch (e) {
    for (const t of timers) clearInterval(t);
    await server?.close().catch(() => {});
    await fwd?.close().catch(() => {});
    await db.close().catch(() => {});
    throw e;
  }
}
