/**
 * Versioned schema migrations of the gateway database. A migration is never edited once
 * released: a change is a new version appended to MIGRATIONS. `migrate` applies the pending
 * ones in one transaction under an advisory lock, so gateway processes that start together
 * on one PostgreSQL server apply each exactly once and none of them serves a half-made schema.
 *
 * Schema version 1:
 * - `tenants`: an organization or a developer (name unique).
 * - `apps`: bound to one chain, with a contract namespace unique on that chain, a key mode
 *   (`upload` | `trust`, fixed at creation: a trigger refuses a change, as it does for the
 *   chain), the access public key (PEM or hex) in the chain's crypto profile, and quotas
 *   (`tps`, `tpd`; NULL is no limit).
 * - `app_identities`: an app's on-chain transaction identities: public key, certificate when
 *   the gateway's CA issued one, and in key-trust mode the private key encrypted elsewhere
 *   (this layer stores ciphertext only).
 * - `quota_buckets`: one row per app, the token bucket of its TPS quota; its row lock is what
 *   serializes one app's quota takes across processes (src/gateway/quota.ts).
 * - `usage_daily`: counters per app per UTC day.
 * - `requests`: the accepted-request journal and the replay guard, keyed by (app, reqId).
 *
 * Schema version 2: an index on `requests (tx_id)`, for the server's lookups by tx id (a
 * receipt pushed by a node, `tx/get` of an app's own tx).
 *
 * Schema version 3: the function `gw_accept`, store.acceptRequest in one statement (replay
 * guard, quota take under the bucket's row lock, usage, journal row); on PGlite a statement's
 * round trip costs more than its work, and this is the one every request makes.
 */
import { ArchiError } from '../../errors/index.ts';
import type { Db } from './db.ts';

export interface Migration {
  version: number;
  name: string;
  /** A script of statements; it runs inside the migration transaction. */
  sql: string;
}

/** Key of the advisory lock that serializes migrations (the ASCII of 'archgwdb' as a big-endian int8). */
export const MIGRATION_LOCK = '7021784069087650914';

const V1 = `
CREATE TABLE tenants (
  id         text PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  created_ms bigint NOT NULL
);

CREATE TABLE apps (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL REFERENCES tenants (id),
  name              text NOT NULL,
  chain_id          text NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('upload', 'trust')),
  namespace         text NOT NULL,
  crypto            text NOT NULL CHECK (crypto IN ('standard', 'gm')),
  access_public_key text NOT NULL,
  tps               integer CHECK (tps > 0),
  tpd               bigint CHECK (tpd > 0),
  created_ms        bigint NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (chain_id, namespace)
);
CREATE INDEX apps_by_tenant ON apps (tenant_id);

CREATE FUNCTION apps_fixed_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.mode <> OLD.mode OR NEW.chain_id <> OLD.chain_id OR NEW.crypto <> OLD.crypto THEN
    RAISE EXCEPTION 'an app''s key mode, chain and crypto profile never change'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER apps_fixed_columns BEFORE UPDATE ON apps
  FOR EACH ROW EXECUTE FUNCTION apps_fixed_columns();

CREATE TABLE app_identities (
  app_id                text NOT NULL REFERENCES apps (id),
  name                  text NOT NULL,
  public_key            text NOT NULL,
  cert_pem              text,
  encrypted_private_key bytea,
  created_ms            bigint NOT NULL,
  PRIMARY KEY (app_id, name)
);

CREATE TABLE quota_buckets (
  app_id     text PRIMARY KEY REFERENCES apps (id),
  tokens     double precision NOT NULL,
  updated_ms bigint NOT NULL
);

CREATE TABLE usage_daily (
  app_id        text NOT NULL REFERENCES apps (id),
  day           date NOT NULL,
  txs           bigint NOT NULL DEFAULT 0,
  queries       bigint NOT NULL DEFAULT 0,
  gas           bigint NOT NULL DEFAULT 0,
  bytes_written bigint NOT NULL DEFAULT 0,
  rejected      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, day)
);

CREATE TABLE requests (
  app_id        text NOT NULL REFERENCES apps (id),
  req_id        text NOT NULL,
  expires_ms    bigint NOT NULL,
  kind          text NOT NULL,
  status        text NOT NULL CHECK (status IN ('accepted', 'forwarded', 'failed')),
  tx_id         text,
  payload       bytea,
  response      jsonb,
  gas           bigint,
  bytes_written bigint,
  created_ms    bigint NOT NULL,
  PRIMARY KEY (app_id, req_id)
);
-- Re-forwarding after a restart reads the rows still 'accepted', oldest first.
CREATE INDEX requests_pending ON requests (created_ms) WHERE status = 'accepted';
CREATE INDEX requests_expiry ON requests (expires_ms);
`;

const V2 = `
CREATE INDEX requests_by_tx ON requests (tx_id) WHERE tx_id IS NOT NULL;
`;

// The accept path in database functions, one round trip per request (on PGlite a statement's
// round trip costs more than its work). `gw_take_quota` is the one implementation of the
// quota (quota.ts's takeQuota calls it too); `gw_accept` adds the replay guard, the journal
// row and the usage. A refusal deletes the row it inserted, so it changes nothing.
const V3 = `
CREATE FUNCTION gw_take_quota(p_app text, p_now bigint, p_day date)
RETURNS TABLE (code text, retry_after_ms bigint) LANGUAGE plpgsql AS $$
DECLARE
  b record;
  used bigint;
  at_ms bigint;
  tok double precision;
BEGIN
  SELECT q.tokens, q.updated_ms, a.tps, a.tpd INTO b
    FROM quota_buckets q JOIN apps a ON a.id = q.app_id
   WHERE q.app_id = p_app FOR UPDATE OF q;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'GW_NOT_FOUND'::text, 0::bigint;
    RETURN;
  END IF;
  IF b.tpd IS NOT NULL THEN
    SELECT u.txs INTO used FROM usage_daily u WHERE u.app_id = p_app AND u.day = p_day;
    IF coalesce(used, 0) >= b.tpd THEN
      RETURN QUERY SELECT 'QUOTA_TPD'::text, (86400000 - (p_now % 86400000))::bigint;
      RETURN;
    END IF;
  END IF;
  at_ms := greatest(p_now, b.updated_ms);
  tok := b.tokens;
  IF b.tps IS NOT NULL THEN
    tok := least(b.tps::double precision,
                 b.tokens + ((at_ms - b.updated_ms) * b.tps)::double precision / 1000);
    -- 1e-9: slack for tokens refilled in fractions (0.2 + 0.8 may sum to 0.9999999999).
    IF tok < 1 - 1e-9 THEN
      RETURN QUERY SELECT 'QUOTA_TPS'::text,
        greatest(1, ceil(((1 - tok) * 1000) / b.tps))::bigint;
      RETURN;
    END IF;
    tok := greatest(0, tok - 1);
  END IF;
  UPDATE quota_buckets SET tokens = tok, updated_ms = at_ms WHERE app_id = p_app;
  INSERT INTO usage_daily (app_id, day, txs) VALUES (p_app, p_day, 1)
  ON CONFLICT (app_id, day) DO UPDATE SET txs = usage_daily.txs + 1;
  RETURN QUERY SELECT 'OK'::text, 0::bigint;
END $$;

CREATE FUNCTION gw_accept(p_app text, p_req text, p_expires bigint, p_kind text, p_tx text,
                          p_payload bytea, p_now bigint, p_day date, p_gas bigint, p_bytes bigint)
RETURNS TABLE (code text, retry_after_ms bigint) LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  INSERT INTO requests (app_id, req_id, expires_ms, kind, status, tx_id, payload, created_ms)
  VALUES (p_app, p_req, p_expires, p_kind,
          CASE WHEN p_kind = 'query' THEN 'forwarded' ELSE 'accepted' END, p_tx, p_payload, p_now)
  ON CONFLICT (app_id, req_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'GW_REPLAY'::text, 0::bigint;
    RETURN;
  END IF;
  IF p_kind <> 'query' THEN
    SELECT * INTO t FROM gw_take_quota(p_app, p_now, p_day);
    IF t.code <> 'OK' THEN
      DELETE FROM requests WHERE app_id = p_app AND req_id = p_req;
      RETURN QUERY SELECT t.code, t.retry_after_ms;
      RETURN;
    END IF;
  END IF;
  INSERT INTO usage_daily (app_id, day, queries, gas, bytes_written)
  VALUES (p_app, p_day, CASE WHEN p_kind = 'query' THEN 1 ELSE 0 END, p_gas, p_bytes)
  ON CONFLICT (app_id, day) DO UPDATE SET
    queries = usage_daily.queries + EXCLUDED.queries,
    gas = usage_daily.gas + EXCLUDED.gas, bytes_written = usage_daily.bytes_written + EXCLUDED.bytes_written;
  RETURN QUERY SELECT 'OK'::text, 0::bigint;
END $$;
`;

/** Every migration this code knows, in version order. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'tenants, apps, quotas, usage, journal', sql: V1 },
  { version: 2, name: 'requests by tx id', sql: V2 },
  { version: 3, name: 'accept in one statement', sql: V3 },
];

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was current). */
  applied: number[];
  /** The schema version afterwards. */
  version: number;
}

/** Applies the pending migrations exactly once, even with several processes migrating at once; refuses a database newer than `migrations` (GW_DB_TOO_NEW). */
export async function migrate(
  db: Db,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  checkOrder(migrations);
  return db.tx(async (q) => {
    // Held to the end of the transaction: a second process waits here, then finds the
    // versions recorded and applies nothing.
    await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK]);
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await q.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    const unknown = rows.filter((r) => !known.has(r.version));
    if (unknown.length > 0) {
      throw new ArchiError(
        'GW_DB_TOO_NEW',
        `the gateway database has schema version ${unknown.map((r) => `${r.version} (${r.name})`).join(', ')}, which this gateway does not know (it knows up to ${migrations.at(-1)?.version ?? 0}); run a newer gateway`,
      );
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    const version = Math.max(0, ...rows.map((r) => r.version), ...applied);
    return { applied, version };
  });
}

/** The schema version recorded in the database (0 when none). */
export async function schemaVersion(db: Db): Promise<number> {
  const [t] = await db.query<{ present: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS present`,
  );
  if (!t.present) return 0;
  const [row] = await db.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM schema_migrations',
  );
  return row.v ?? 0;
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (!Number.isInteger(m.version) || m.version !== i + 1) {
      throw new ArchiError(
        'INTERNAL',
        `gateway migrations must be numbered 1, 2, 3...; found ${m.version} at ${i}`,
      );
    }
  });
}
