/**
 * The gateway's records over its database: tenants, apps, app identities, quotas, and the
 * journal of accepted requests.
 *
 * The journal is an outbox. `acceptRequest` records the request id (the replay guard), takes
 * the quota, counts the usage and stores what is to be forwarded, all in one transaction,
 * before anything is sent to a node; the caller then forwards it and calls `markForwarded` or
 * `markFailed`. After a crash (kill -9 included) `pendingForwards` returns what was accepted
 * but never marked, to be sent again. Sending again is safe: the chain refuses a tx whose id
 * it has already (TX_DUPLICATE), and usage was counted once at acceptance, never on send.
 * Gas and bytes written are known from the receipt; `recordReceipt` counts them once per request.
 */
import { randomBytes } from 'node:crypto';
import { ArchiError } from '../errors/index.ts';
import type { Db, Queryable } from './db/db.ts';
import { sqlState } from './db/db.ts';
import { type QuotaRefusal, utcDay } from './quota.ts';
import { addUsage } from './usage.ts';

export type KeyMode = 'upload' | 'trust';
export type CryptoName = 'standard' | 'gm';

export interface Tenant {
  id: string;
  name: string;
  createdMs: number;
}

export interface App {
  id: string;
  tenantId: string;
  name: string;
  chainId: string;
  /** Fixed at creation. */
  mode: KeyMode;
  /** The app's contract namespace on its chain (unique per chain). */
  namespace: string;
  /** The chain's crypto profile, which the app's keys use. */
  crypto: CryptoName;
  /** The access public key (PEM or hex) that verifies the app's request envelopes. */
  accessPublicKey: string;
  /** Transactions per second; null is no limit. */
  tps: number | null;
  /** Transactions per UTC day; null is no limit. */
  tpd: number | null;
  createdMs: number;
}

export interface AppIdentity {
  appId: string;
  name: string;
  publicKey: string;
  certPem: string | null;
  /** Key trust only: the private key as ciphertext (encrypted with the master key elsewhere). */
  encryptedPrivateKey: Uint8Array | null;
  createdMs: number;
}

/** `query` requests are journaled only as their reqId; `tx` and `deploy` take a quota unit and are forwarded. */
export type RequestKind = 'tx' | 'deploy' | 'query';
export type RequestStatus = 'accepted' | 'forwarded' | 'failed';

export interface JournalEntry {
  appId: string;
  reqId: string;
  kind: RequestKind;
  status: RequestStatus;
  txId: string | null;
  payload: Uint8Array | null;
  response: unknown;
  expiresMs: number;
  createdMs: number;
}

export type AcceptResult = { ok: true } | { ok: false; code: 'GW_REPLAY' } | QuotaRefusal;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAMESPACE = /^[a-z][a-z0-9_]{0,23}$/;
const REQ_ID = /^[\x21-\x7e]{1,128}$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new ArchiError('BAD_REQUEST', message);
}

const limit = (v: number | null | undefined) =>
  v === null || v === undefined || (Number.isSafeInteger(v) && v > 0);

/** Turns constraint violations into GW_EXISTS / GW_NOT_FOUND / BAD_REQUEST. */
function constraint(what: string): (err: unknown) => never {
  return (err) => {
    const state = sqlState(err);
    const detail = err instanceof Error ? err.message : String(err);
    if (state === '23505') throw new ArchiError('GW_EXISTS', `${what} exists already (${detail})`);
    if (state === '23503') throw new ArchiError('GW_NOT_FOUND', `${what}: ${detail}`);
    if (state === '23514') throw new ArchiError('BAD_REQUEST', `${what}: ${detail}`);
    throw err;
  };
}

const newId = (prefix: string) => `${prefix}${randomBytes(10).toString('hex')}`;
const bytes = (v: unknown) =>
  v === null || v === undefined ? null : new Uint8Array(v as Uint8Array);

// --- tenants ---

type TenantRow = { id: string; name: string; created_ms: number };
const tenant = (r: TenantRow): Tenant => ({ id: r.id, name: r.name, createdMs: r.created_ms });

/** Creates a tenant; GW_EXISTS when the name is taken. */
export async function createTenant(
  db: Queryable,
  input: { name: string; nowMs: number; id?: string },
): Promise<Tenant> {
  check(NAME.test(input.name), `tenant name must match ${NAME}`);
  const id = input.id ?? newId('t_');
  check(NAME.test(id), `tenant id must match ${NAME}`);
  const [row] = await db
    .query<TenantRow>(
      'INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3) RETURNING *',
      [id, input.name, input.nowMs],
    )
    .catch(constraint(`tenant ${input.name}`));
  return tenant(row);
}

/** Every tenant, by name. */
export async function listTenants(db: Queryable): Promise<Tenant[]> {
  return (await db.query<TenantRow>('SELECT * FROM tenants ORDER BY name')).map(tenant);
}

/** The tenant with this id or, failing that, this name. */
export async function getTenant(db: Queryable, idOrName: string): Promise<Tenant | undefined> {
  const rows = await db.query<TenantRow>(
    'SELECT * FROM tenants WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1',
    [idOrName],
  );
  return rows[0] && tenant(rows[0]);
}

// --- apps ---

type AppRow = {
  id: string;
  tenant_id: string;
  name: string;
  chain_id: string;
  mode: KeyMode;
  namespace: string;
  crypto: CryptoName;
  access_public_key: string;
  tps: number | null;
  tpd: number | null;
  created_ms: number;
};
const app = (r: AppRow): App => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  chainId: r.chain_id,
  mode: r.mode,
  namespace: r.namespace,
  crypto: r.crypto,
  accessPublicKey: r.access_public_key,
  tps: r.tps,
  tpd: r.tpd,
  createdMs: r.created_ms,
});

export interface CreateAppInput {
  tenantId: string;
  name: string;
  chainId: string;
  /** Default 'upload' (as BSN recommends). */
  mode?: KeyMode;
  namespace: string;
  crypto: CryptoName;
  accessPublicKey: string;
  tps?: number | null;
  tpd?: number | null;
  nowMs: number;
  id?: string;
}

/** Creates an app with a full TPS bucket; GW_EXISTS for a taken name (per tenant) or namespace (per chain), GW_NOT_FOUND for an unknown tenant. */
export async function createApp(db: Db, input: CreateAppInput): Promise<App> {
  const mode = input.mode ?? 'upload';
  check(NAME.test(input.name), `app name must match ${NAME}`);
  check(mode === 'upload' || mode === 'trust', 'mode must be upload or trust');
  check(input.crypto === 'standard' || input.crypto === 'gm', 'crypto must be standard or gm');
  check(typeof input.chainId === 'string' && input.chainId.length > 0, 'chainId is required');
  check(NAMESPACE.test(input.namespace), `namespace must match ${NAMESPACE}`);
  check(/\S/.test(input.accessPublicKey ?? ''), 'accessPublicKey is required');
  check(
    limit(input.tps) && limit(input.tpd),
    'tps and tpd must be whole numbers > 0 (or null: no limit)',
  );
  const id = input.id ?? newId('app_');
  check(NAME.test(id), `app id must match ${NAME}`);
  return db
    .tx(async (q) => {
      const [row] = await q.query<AppRow>(
        `INSERT INTO apps (id, tenant_id, name, chain_id, mode, namespace, crypto, access_public_key, tps, tpd, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          id,
          input.tenantId,
          input.name,
          input.chainId,
          mode,
          input.namespace,
          input.crypto,
          input.accessPublicKey,
          input.tps ?? null,
          input.tpd ?? null,
          input.nowMs,
        ],
      );
      await q.query('INSERT INTO quota_buckets (app_id, tokens, updated_ms) VALUES ($1, $2, $3)', [
        id,
        input.tps ?? 0,
        input.nowMs,
      ]);
      return app(row);
    })
    .catch(constraint(`app ${input.name}`));
}

/** The app with this id. */
export async function getApp(db: Queryable, id: string): Promise<App | undefined> {
  const rows = await db.query<AppRow>('SELECT * FROM apps WHERE id = $1', [id]);
  return rows[0] && app(rows[0]);
}

/** Apps of one tenant, or of all, by tenant and name. */
export async function listApps(db: Queryable, filter: { tenantId?: string } = {}): Promise<App[]> {
  const rows =
    filter.tenantId === undefined
      ? await db.query<AppRow>('SELECT * FROM apps ORDER BY tenant_id, name')
      : await db.query<AppRow>('SELECT * FROM apps WHERE tenant_id = $1 ORDER BY name', [
          filter.tenantId,
        ]);
  return rows.map(app);
}

/** Changes an app's limits (undefined keeps one, null lifts it); every process applies them from its next take. */
export async function setQuota(
  db: Queryable,
  appId: string,
  quota: { tps?: number | null; tpd?: number | null },
): Promise<App> {
  check(
    limit(quota.tps) && limit(quota.tpd),
    'tps and tpd must be whole numbers > 0 (or null: no limit)',
  );
  const [row] = await db.query<AppRow>(
    `UPDATE apps SET tps = CASE WHEN $2 THEN $3::integer ELSE tps END,
                     tpd = CASE WHEN $4 THEN $5::bigint ELSE tpd END
      WHERE id = $1 RETURNING *`,
    [appId, quota.tps !== undefined, quota.tps ?? null, quota.tpd !== undefined, quota.tpd ?? null],
  );
  if (!row) throw new ArchiError('GW_NOT_FOUND', `no app ${appId}`);
  return app(row);
}

// --- identities ---

type IdentityRow = {
  app_id: string;
  name: string;
  public_key: string;
  cert_pem: string | null;
  encrypted_private_key: Uint8Array | null;
  created_ms: number;
};
const identity = (r: IdentityRow): AppIdentity => ({
  appId: r.app_id,
  name: r.name,
  publicKey: r.public_key,
  certPem: r.cert_pem,
  encryptedPrivateKey: bytes(r.encrypted_private_key),
  createdMs: r.created_ms,
});

/** Adds a transaction identity to an app; an encrypted private key only in key-trust mode. */
export async function addIdentity(
  db: Queryable,
  input: {
    appId: string;
    name: string;
    publicKey: string;
    certPem?: string | null;
    encryptedPrivateKey?: Uint8Array | null;
    nowMs: number;
  },
): Promise<AppIdentity> {
  check(NAME.test(input.name), `identity name must match ${NAME}`);
  check(/\S/.test(input.publicKey ?? ''), 'publicKey is required');
  const a = await getApp(db, input.appId);
  if (!a) throw new ArchiError('GW_NOT_FOUND', `no app ${input.appId}`);
  // An uploaded-key app's private keys never reach the gateway.
  check(
    a.mode === 'trust' || !input.encryptedPrivateKey,
    'only a key-trust app stores a private key',
  );
  const [row] = await db
    .query<IdentityRow>(
      `INSERT INTO app_identities (app_id, name, public_key, cert_pem, encrypted_private_key, created_ms)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [
        input.appId,
        input.name,
        input.publicKey,
        input.certPem ?? null,
        input.encryptedPrivateKey ?? null,
        input.nowMs,
      ],
    )
    .catch(constraint(`identity ${input.name} of app ${input.appId}`));
  return identity(row);
}

/** An app's identities, by name. */
export async function listIdentities(db: Queryable, appId: string): Promise<AppIdentity[]> {
  return (
    await db.query<IdentityRow>('SELECT * FROM app_identities WHERE app_id = $1 ORDER BY name', [
      appId,
    ])
  ).map(identity);
}

// --- journal ---

export interface AcceptInput {
  appId: string;
  reqId: string;
  /** After this time the reqId may be forgotten (`purgeExpired`): the envelope's time window refuses it by then. */
  expiresMs: number;
  kind: RequestKind;
  /** What is to be forwarded (e.g. the signed tx bytes). */
  payload?: Uint8Array | null;
  txId?: string | null;
  nowMs: number;
  /** Usage known at acceptance beyond the tx or query itself. */
  usage?: { gas?: number; bytesWritten?: number };
}

/**
 * Accepts a request in one statement, so in one transaction: records its reqId (a reqId the
 * app used before is `GW_REPLAY`), takes one tx of quota for `tx` and `deploy` (which also
 * counts it in the day's txs) or counts a query, adds `usage`, and journals it as 'accepted'
 * (a query as 'forwarded': there is nothing to send again after a crash). A refusal changes
 * nothing; the caller counts it with `countRejected`.
 *
 * The work is the database function `gw_accept` (schema v3), which takes the quota with
 * `gw_take_quota` (what quota.ts's `takeQuota` runs) and adds the usage as usage.ts's
 * `addUsage` does: one round trip instead of eight, most of what a request costs the gateway.
 */
export async function acceptRequest(db: Db, input: AcceptInput): Promise<AcceptResult> {
  check(REQ_ID.test(input.reqId), 'reqId must be 1 to 128 printable ASCII characters');
  check(['tx', 'deploy', 'query'].includes(input.kind), 'kind must be tx, deploy or query');
  const gas = input.usage?.gas ?? 0;
  const bytesWritten = input.usage?.bytesWritten ?? 0;
  for (const [k, v] of [
    ['gas', gas],
    ['bytesWritten', bytesWritten],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ArchiError('BAD_REQUEST', `usage ${k} must be a whole number >= 0`);
    }
  }
  const [row] = await db
    .query<{ code: string; retry_after_ms: number }>(
      'SELECT code, retry_after_ms FROM gw_accept($1, $2, $3, $4, $5, $6, $7, $8::date, $9, $10)',
      [
        input.appId,
        input.reqId,
        input.expiresMs,
        input.kind,
        input.txId ?? null,
        input.payload ?? null,
        input.nowMs,
        utcDay(input.nowMs),
        gas,
        bytesWritten,
      ],
    )
    .catch(constraint(`app ${input.appId}`));
  if (row.code === 'OK') return { ok: true };
  if (row.code === 'GW_REPLAY') return { ok: false, code: 'GW_REPLAY' };
  return {
    ok: false,
    code: row.code as 'QUOTA_TPS' | 'QUOTA_TPD',
    retryAfterMs: Number(row.retry_after_ms),
  };
}

/** Counts a refused request (over quota, bad mac, replay...) in the app's usage; false for an unknown app. */
export async function countRejected(db: Queryable, appId: string, nowMs: number): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO usage_daily (app_id, day, rejected)
     SELECT id, $2::date, 1 FROM apps WHERE id = $1
     ON CONFLICT (app_id, day) DO UPDATE SET rejected = usage_daily.rejected + 1
     RETURNING app_id`,
    [appId, utcDay(nowMs)],
  );
  return rows.length > 0;
}

/** Marks an accepted request as sent to a node; false when it was not 'accepted'. */
export async function markForwarded(
  db: Queryable,
  appId: string,
  reqId: string,
  result: { txId?: string; response?: unknown } = {},
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE requests SET status = 'forwarded', tx_id = COALESCE($3, tx_id), response = $4::jsonb
      WHERE app_id = $1 AND req_id = $2 AND status = 'accepted' RETURNING req_id`,
    [
      appId,
      reqId,
      result.txId ?? null,
      result.response === undefined ? null : JSON.stringify(result.response),
    ],
  );
  return rows.length > 0;
}

/** Marks an accepted request as refused by the node (it stays counted: it was accepted); false when it was not 'accepted'. */
export async function markFailed(
  db: Queryable,
  appId: string,
  reqId: string,
  response: unknown,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE requests SET status = 'failed', response = $3::jsonb
      WHERE app_id = $1 AND req_id = $2 AND status = 'accepted' RETURNING req_id`,
    [appId, reqId, JSON.stringify(response ?? null)],
  );
  return rows.length > 0;
}

/** Counts a request's gas and bytes written (from its receipt) in the usage of the day it was accepted, once. */
export async function recordReceipt(
  db: Db,
  input: { appId: string; reqId: string; gas: number; bytesWritten: number },
): Promise<boolean> {
  return db.tx(async (q) => {
    const [row] = await q.query<{ created_ms: number }>(
      `UPDATE requests SET gas = $3, bytes_written = $4
        WHERE app_id = $1 AND req_id = $2 AND gas IS NULL RETURNING created_ms`,
      [input.appId, input.reqId, input.gas, input.bytesWritten],
    );
    if (!row) return false;
    await addUsage(q, input.appId, row.created_ms, {
      gas: input.gas,
      bytesWritten: input.bytesWritten,
    });
    return true;
  });
}

type RequestRow = {
  app_id: string;
  req_id: string;
  kind: RequestKind;
  status: RequestStatus;
  tx_id: string | null;
  payload: Uint8Array | null;
  response: unknown;
  expires_ms: number;
  created_ms: number;
};
const entry = (r: RequestRow): JournalEntry => ({
  appId: r.app_id,
  reqId: r.req_id,
  kind: r.kind,
  status: r.status,
  txId: r.tx_id,
  payload: bytes(r.payload),
  response: r.response,
  expiresMs: r.expires_ms,
  createdMs: r.created_ms,
});

/** One journaled request. */
export async function getRequest(
  db: Queryable,
  appId: string,
  reqId: string,
): Promise<JournalEntry | undefined> {
  const rows = await db.query<RequestRow>(
    'SELECT * FROM requests WHERE app_id = $1 AND req_id = $2',
    [appId, reqId],
  );
  return rows[0] && entry(rows[0]);
}

/**
 * Requests accepted but not yet marked, oldest first, to forward again after a restart.
 * `beforeMs` leaves out newer ones that another live gateway process may be forwarding now
 * (forwarding twice is harmless, the chain refuses a duplicate tx id, but wasteful).
 */
export async function pendingForwards(
  db: Queryable,
  options: { limit: number; beforeMs?: number },
): Promise<JournalEntry[]> {
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests WHERE status = 'accepted' AND created_ms < $2
      ORDER BY created_ms, app_id, req_id LIMIT $1`,
    [options.limit, options.beforeMs ?? Number.MAX_SAFE_INTEGER],
  );
  return rows.map(entry);
}

/** Forgets request ids whose time window has passed (never one still to forward); how many. */
export async function purgeExpired(db: Queryable, nowMs: number): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM requests WHERE expires_ms < $1 AND status <> 'accepted' RETURNING 1)
     SELECT count(*) AS n FROM gone`,
    [nowMs],
  );
  return row.n;
}

// --- lookups and changes the HTTP server needs ---

/** Sets what an accepted request forwards, once it is built (a deploy's tx needs the chain's policy first); false when it was not 'accepted'. */
export async function setForward(
  db: Queryable,
  appId: string,
  reqId: string,
  forward: { txId: string; payload: Uint8Array },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE requests SET tx_id = $3, payload = $4
      WHERE app_id = $1 AND req_id = $2 AND status = 'accepted' RETURNING req_id`,
    [appId, reqId, forward.txId, forward.payload],
  );
  return rows.length > 0;
}

/** The journaled request of `appId` that carried tx `txId` (lower-case hex), if the app sent it through the gateway. */
export async function findTxRequest(
  db: Queryable,
  appId: string,
  txId: string,
): Promise<JournalEntry | undefined> {
  const rows = await db.query<RequestRow>(
    'SELECT * FROM requests WHERE tx_id = $1 AND app_id = $2 ORDER BY created_ms LIMIT 1',
    [txId, appId],
  );
  return rows[0] && entry(rows[0]);
}

/** markForwarded for many requests in one statement (a batch of successful sends); how many were marked. */
export async function markForwardedMany(
  db: Queryable,
  rows: ReadonlyArray<{ appId: string; reqId: string; txId: string }>,
): Promise<number> {
  if (rows.length === 0) return 0;
  const marked = await db.query(
    `UPDATE requests r SET status = 'forwarded', tx_id = v.tx_id
       FROM unnest($1::text[], $2::text[], $3::text[]) AS v(app_id, req_id, tx_id)
      WHERE r.app_id = v.app_id AND r.req_id = v.req_id AND r.status = 'accepted'
      RETURNING r.req_id`,
    [rows.map((r) => r.appId), rows.map((r) => r.reqId), rows.map((r) => r.txId)],
  );
  return marked.length;
}

/**
 * recordReceipt for committed txs known by tx id (a node's `txs` feed), in one statement: each
 * request that carried one of them and has no receipt counted yet gets its gas, counted in its
 * app's usage of the UTC day it was accepted. How many requests were counted.
 */
export async function recordReceiptsByTx(
  db: Queryable,
  receipts: ReadonlyArray<{ txId: string; gas: number }>,
): Promise<number> {
  if (receipts.length === 0) return 0;
  const [row] = await db.query<{ n: number }>(
    `WITH v AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS v(tx_id, gas)),
          counted AS (
            UPDATE requests r SET gas = v.gas, bytes_written = 0
              FROM v WHERE r.tx_id = v.tx_id AND r.gas IS NULL
            RETURNING r.app_id, r.created_ms, r.gas),
          added AS (
            INSERT INTO usage_daily (app_id, day, gas)
            SELECT app_id, (to_timestamp(created_ms / 1000.0) AT TIME ZONE 'UTC')::date, sum(gas)
              FROM counted GROUP BY 1, 2
            ON CONFLICT (app_id, day) DO UPDATE SET gas = usage_daily.gas + EXCLUDED.gas
            RETURNING 1)
     SELECT (SELECT count(*) FROM counted) AS n, (SELECT count(*) FROM added) AS days`,
    [receipts.map((r) => r.txId), receipts.map((r) => r.gas)],
  );
  return row.n;
}

/** Removes an app and everything of it (an app whose creation failed half-way: keys not registered on chain). */
export async function deleteApp(db: Db, appId: string): Promise<void> {
  await db.tx(async (q) => {
    for (const table of ['requests', 'usage_daily', 'quota_buckets', 'app_identities']) {
      await q.query(`DELETE FROM ${table} WHERE app_id = $1`, [appId]);
    }
    await q.query('DELETE FROM apps WHERE id = $1', [appId]);
  });
}

/** True when an app of chain `chainId` has namespace `namespace`. */
export async function namespaceTaken(
  db: Queryable,
  chainId: string,
  namespace: string,
): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM apps WHERE chain_id = $1 AND namespace = $2', [
    chainId,
    namespace,
  ]);
  return rows.length > 0;
}

/** Per chain: its apps and their txs, queries and rejected requests on UTC day `day`. */
export async function chainLoad(
  db: Queryable,
  day: string,
): Promise<
  Array<{
    chain: string;
    apps: number;
    txsToday: number;
    queriesToday: number;
    rejectedToday: number;
  }>
> {
  const rows = await db.query<{
    chain: string;
    apps: number;
    txs: number;
    queries: number;
    rejected: number;
  }>(
    `SELECT a.chain_id AS chain, count(*)::bigint AS apps,
            coalesce(sum(u.txs), 0)::bigint AS txs, coalesce(sum(u.queries), 0)::bigint AS queries,
            coalesce(sum(u.rejected), 0)::bigint AS rejected
       FROM apps a LEFT JOIN usage_daily u ON u.app_id = a.id AND u.day = $1::date
      GROUP BY a.chain_id ORDER BY a.chain_id`,
    [day],
  );
  return rows.map((r) => ({
    chain: r.chain,
    apps: r.apps,
    txsToday: r.txs,
    queriesToday: r.queries,
    rejectedToday: r.rejected,
  }));
}
