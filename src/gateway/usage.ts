/**
 * Usage counters per app per UTC day (`usage_daily`): txs (counted by the quota take, see
 * quota.ts), queries, gas used, bytes written on chain and rejected requests; per-tenant totals
 * over a date range; CSV export.
 */
import { ArchiError } from '../errors/index.ts';
import type { Queryable } from './db/db.ts';
import { utcDay } from './quota.ts';

export interface UsageCounts {
  txs: number;
  queries: number;
  gas: number;
  bytesWritten: number;
  rejected: number;
}

export interface UsageRow extends UsageCounts {
  appId: string;
  tenantId: string;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
}

export interface UsageFilter {
  tenantId?: string;
  appId?: string;
  /** First day included, `YYYY-MM-DD`. */
  from?: string;
  /** Last day included, `YYYY-MM-DD`. */
  to?: string;
}

const COLUMNS: Record<keyof UsageCounts, string> = {
  txs: 'txs',
  queries: 'queries',
  gas: 'gas',
  bytesWritten: 'bytes_written',
  rejected: 'rejected',
};

/** Adds `delta` to `appId`'s counters of the UTC day of `nowMs`. */
export async function addUsage(
  q: Queryable,
  appId: string,
  nowMs: number,
  delta: Partial<UsageCounts>,
): Promise<void> {
  const keys = (Object.keys(COLUMNS) as (keyof UsageCounts)[]).filter((k) => (delta[k] ?? 0) !== 0);
  if (keys.length === 0) return;
  for (const k of keys) {
    const v = delta[k];
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw new ArchiError('BAD_REQUEST', `usage ${k} must be a whole number >= 0`);
    }
  }
  const cols = keys.map((k) => COLUMNS[k]);
  await q.query(
    `INSERT INTO usage_daily (app_id, day, ${cols.join(', ')})
     VALUES ($1, $2, ${cols.map((_, i) => `$${i + 3}`).join(', ')})
     ON CONFLICT (app_id, day) DO UPDATE SET ${cols.map((c) => `${c} = usage_daily.${c} + EXCLUDED.${c}`).join(', ')}`,
    [appId, utcDay(nowMs), ...keys.map((k) => delta[k])],
  );
}

/** Usage rows (one per app per day with any activity), ordered by tenant, app and day. */
export async function listUsage(q: Queryable, filter: UsageFilter = {}): Promise<UsageRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.tenantId !== undefined) add('a.tenant_id = ?', filter.tenantId);
  if (filter.appId !== undefined) add('u.app_id = ?', filter.appId);
  if (filter.from !== undefined) add('u.day >= ?::date', filter.from);
  if (filter.to !== undefined) add('u.day <= ?::date', filter.to);
  const rows = await q.query<{
    app_id: string;
    tenant_id: string;
    day: string;
    txs: number;
    queries: number;
    gas: number;
    bytes_written: number;
    rejected: number;
  }>(
    `SELECT u.app_id, a.tenant_id, u.day, u.txs, u.queries, u.gas, u.bytes_written, u.rejected
       FROM usage_daily u JOIN apps a ON a.id = u.app_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY a.tenant_id, u.app_id, u.day`,
    params,
  );
  return rows.map((r) => ({
    appId: r.app_id,
    tenantId: r.tenant_id,
    day: r.day,
    txs: r.txs,
    queries: r.queries,
    gas: r.gas,
    bytesWritten: r.bytes_written,
    rejected: r.rejected,
  }));
}

/** The sum of `rows`' counters. */
export function sumUsage(rows: readonly UsageCounts[]): UsageCounts {
  const total: UsageCounts = { txs: 0, queries: 0, gas: 0, bytesWritten: 0, rejected: 0 };
  for (const r of rows)
    for (const k of Object.keys(total) as (keyof UsageCounts)[]) total[k] += r[k];
  return total;
}

/** Per-tenant totals over the rows `filter` selects, ordered by tenant id. */
export async function tenantTotals(
  q: Queryable,
  filter: Omit<UsageFilter, 'appId'> = {},
): Promise<Array<UsageCounts & { tenantId: string }>> {
  const byTenant = new Map<string, UsageRow[]>();
  for (const r of await listUsage(q, filter)) {
    const list = byTenant.get(r.tenantId) ?? [];
    list.push(r);
    byTenant.set(r.tenantId, list);
  }
  return [...byTenant].map(([tenantId, rows]) => ({ tenantId, ...sumUsage(rows) }));
}

const CSV_HEADER = 'day,tenant_id,app_id,txs,queries,gas,bytes_written,rejected';

/** CSV (RFC 4180, CRLF line ends): a header line, then one line per app per day. */
export function usageCsv(rows: readonly UsageRow[]): string {
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = rows.map((r) =>
    [
      r.day,
      cell(r.tenantId),
      cell(r.appId),
      r.txs,
      r.queries,
      r.gas,
      r.bytesWritten,
      r.rejected,
    ].join(','),
  );
  return `${[CSV_HEADER, ...lines].join('\r\n')}\r\n`;
}
