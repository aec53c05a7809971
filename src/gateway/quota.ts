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

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of the UTC day that contains `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next UTC midnight. */
export function msToUtcMidnight(ms: number): number {
  return DAY_MS - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

/**
 * Takes one tx of `appId`'s quota inside `q`'s transaction (and counts it in the day's txs); a
 * refusal changes nothing. The work is the database function `gw_take_quota` (schema v3),
 * which `store.acceptRequest` runs too, so there is one implementation of the quota.
 */
export async function takeQuota(q: Queryable, appId: string, nowMs: number): Promise<QuotaResult> {
  const [r] = await q.query<{ code: string; retry_after_ms: number | string }>(
    'SELECT code, retry_after_ms FROM gw_take_quota($1, $2, $3::date)',
    [appId, nowMs, utcDay(nowMs)],
  );
  if (r.code === 'GW_NOT_FOUND') throw new ArchiError('GW_NOT_FOUND', `no app ${appId}`);
  if (r.code === 'QUOTA_TPS' || r.code === 'QUOTA_TPD') {
    return { ok: false, code: r.code, retryAfterMs: Number(r.retry_after_ms) };
  }
  return { ok: true };
}
