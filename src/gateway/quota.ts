/**
 * Per-app transaction quotas, taken inside the caller's transaction.
 *
 * - TPS: a token bucket of capacity `tps` refilled at `tps` tokens a second, stored in the
 *   app's `quota_buckets` row and refilled lazily from the time of its last take.
 * - TPD: the app's `usage_daily.txs` of the current UTC day against `tpd`; a successful take
 *   adds that one tx, so the day's count and the quota are one number.
 *
 * `SELECT ... FOR UPDATE` on the app's bucket row serializes the takes of one app across every
 * connection and gateway process of a PostgreSQL server (read committed: the row, and the day's
 * count read after it, are the latest committed ones), while other apps' rows stay free. The
 * limits are read in the same statement, so `setQuota` holds from the next take on, everywhere.
 * The clock is the caller's `nowMs`; a time earlier than the bucket's last take (clocks of two
 * processes differ) refills nothing and never moves the bucket back.
 */
import { ArchiError } from '../errors/index.ts';
import type { Queryable } from './db/db.ts';

export type QuotaRefusal = { ok: false; code: 'QUOTA_TPS' | 'QUOTA_TPD'; retryAfterMs: number };
export type QuotaResult = { ok: true } | QuotaRefusal;

/** Rounding slack for tokens refilled in fractions (0.2 + 0.8 may sum to 0.9999999999). */
const EPSILON = 1e-9;
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of the UTC day that contains `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next UTC midnight. */
export function msToUtcMidnight(ms: number): number {
  return DAY_MS - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

/** Takes one tx of `appId`'s quota inside `q`'s transaction; a refusal changes nothing. */
export async function takeQuota(q: Queryable, appId: string, nowMs: number): Promise<QuotaResult> {
  const [b] = await q.query<{
    tokens: number;
    updated_ms: number;
    tps: number | null;
    tpd: number | null;
  }>(
    `SELECT b.tokens, b.updated_ms, a.tps, a.tpd
       FROM quota_buckets b JOIN apps a ON a.id = b.app_id
      WHERE b.app_id = $1
        FOR UPDATE OF b`,
    [appId],
  );
  if (!b) throw new ArchiError('GW_NOT_FOUND', `no app ${appId}`);
  const day = utcDay(nowMs);
  if (b.tpd !== null) {
    const [u] = await q.query<{ txs: number }>(
      'SELECT txs FROM usage_daily WHERE app_id = $1 AND day = $2',
      [appId, day],
    );
    if ((u?.txs ?? 0) >= b.tpd)
      return { ok: false, code: 'QUOTA_TPD', retryAfterMs: msToUtcMidnight(nowMs) };
  }
  const at = Math.max(nowMs, b.updated_ms);
  let tokens = b.tokens;
  if (b.tps !== null) {
    tokens = Math.min(b.tps, b.tokens + ((at - b.updated_ms) * b.tps) / 1000);
    if (tokens < 1 - EPSILON) {
      return {
        ok: false,
        code: 'QUOTA_TPS',
        retryAfterMs: Math.max(1, Math.ceil(((1 - tokens) * 1000) / b.tps)),
      };
    }
    tokens = Math.max(0, tokens - 1);
  }
  await q.query('UPDATE quota_buckets SET tokens = $2, updated_ms = $3 WHERE app_id = $1', [
    appId,
    tokens,
    at,
  ]);
  await q.query(
    `INSERT INTO usage_daily (app_id, day, txs) VALUES ($1, $2, 1)
     ON CONFLICT (app_id, day) DO UPDATE SET txs = usage_daily.txs + 1`,
    [appId, day],
  );
  return { ok: true };
}
