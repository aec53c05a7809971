/**
 * A month's bill from usage rows and a price table. Pure: no database, no clock.
 *
 * Prices are decimal strings in currency units ("0.0002") and are computed exactly in
 * billionths of the unit as bigint; each amount is rounded once, half up, to the currency's
 * minor unit (cents by default). A tenant's amounts are the sums of its apps' rounded amounts
 * and the bill's total the sum of the tenants', so every printed total adds up.
 *
 * Storage is billed in GB-months (1 GB = 10^9 bytes) of what the app has written on chain:
 * bytes written on day d count as stored from d (inclusive) to the end of the month, and
 * nothing is ever deducted (chain state is append-mostly and history is kept). For each day of
 * the month the app's stored bytes are the sum of its `bytesWritten` on every day up to and
 * including that one (rows before the month count, so pass them in); the byte-days of the
 * month, divided by 10^9 and by the number of days in the month, are its GB-months. So 1 GB
 * written on the first day of a 30-day month is 1 GB-month; written on the 16th, 0.5.
 */
import { ArchiError } from '../errors/index.ts';
import type { UsageRow } from './usage.ts';

export interface PriceTable {
  /** ISO 4217 code, e.g. "USD". */
  currency: string;
  /** Digits of the minor unit; 2 (cents) by default. */
  minorDigits?: number;
  /** Per accepted transaction, decimal in currency units (e.g. "0.0002"). */
  perTx: string;
  perQuery: string;
  /** Per GB (10^9 bytes) stored for one month. */
  perGbMonth: string;
}

/** Amounts are in minor units (cents for minorDigits 2). */
export interface BillAmounts {
  txs: number;
  queries: number;
  /** Byte-days / 10^9 / days of the month (for display; the amount is computed exactly). */
  gbMonths: number;
  txAmount: number;
  queryAmount: number;
  storageAmount: number;
  total: number;
}

export interface AppBill extends BillAmounts {
  appId: string;
  tenantId: string;
}

export interface TenantBill extends BillAmounts {
  tenantId: string;
  apps: AppBill[];
}

export interface MonthlyBill {
  month: string;
  days: number;
  currency: string;
  minorDigits: number;
  tenants: TenantBill[];
  /** The sum of the tenants' totals, minor units. */
  total: number;
}

const NANO = 1_000_000_000n;
const GB = 1_000_000_000n;

/** A decimal string (up to 9 decimals) as billionths. */
export function parsePrice(v: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(typeof v === 'string' ? v.trim() : '');
  if (!m)
    throw new ArchiError(
      'BAD_REQUEST',
      `price ${JSON.stringify(v)} must be a decimal like 0.0002 (up to 9 decimals)`,
    );
  return BigInt(m[1]) * NANO + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** n / d rounded half up (n, d >= 0). */
function roundDiv(n: bigint, d: bigint): bigint {
  return (n * 2n + d) / (d * 2n);
}

/** Minor units as a decimal string, e.g. 1234 with 2 digits -> "12.34". */
export function formatAmount(minor: number, minorDigits = 2): string {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(minorDigits + 1, '0');
  const text = minorDigits === 0 ? s : `${s.slice(0, -minorDigits)}.${s.slice(-minorDigits)}`;
  return neg ? `-${text}` : text;
}

/** Days in a `YYYY-MM` month and its first and last day. */
function monthRange(month: string): { days: number; first: string; last: string } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m)
    throw new ArchiError('BAD_REQUEST', `month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const days = new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
  return { days, first: `${month}-01`, last: `${month}-${String(days).padStart(2, '0')}` };
}

/** The bill of `month` ('YYYY-MM') per app and per tenant; `rows` should include every earlier day with bytes written (storage is cumulative). */
export function monthlyBill(
  rows: readonly UsageRow[],
  prices: PriceTable,
  month: string,
): MonthlyBill {
  const minorDigits = prices.minorDigits ?? 2;
  if (!Number.isInteger(minorDigits) || minorDigits < 0 || minorDigits > 9) {
    throw new ArchiError('BAD_REQUEST', 'minorDigits must be 0 to 9');
  }
  const unit = 10n ** BigInt(9 - minorDigits); // billionths per minor unit
  const perTx = parsePrice(prices.perTx);
  const perQuery = parsePrice(prices.perQuery);
  const perGbMonth = parsePrice(prices.perGbMonth);
  const { days, first, last } = monthRange(month);

  const byApp = new Map<string, UsageRow[]>();
  for (const r of rows) {
    if (r.day > last) continue;
    const list = byApp.get(r.appId) ?? [];
    list.push(r);
    byApp.set(r.appId, list);
  }

  const apps: AppBill[] = [];
  for (const [appId, list] of byApp) {
    let txs = 0n;
    let queries = 0n;
    let before = 0n; // bytes stored before the month
    const writtenOn = new Array<bigint>(days).fill(0n);
    for (const r of list) {
      if (r.day < first) {
        before += BigInt(r.bytesWritten);
        continue;
      }
      txs += BigInt(r.txs);
      queries += BigInt(r.queries);
      writtenOn[Number(r.day.slice(8, 10)) - 1] += BigInt(r.bytesWritten);
    }
    let stored = before;
    let byteDays = 0n;
    for (const b of writtenOn) {
      stored += b;
      byteDays += stored;
    }
    const txAmount = Number(roundDiv(txs * perTx, unit));
    const queryAmount = Number(roundDiv(queries * perQuery, unit));
    const storageAmount = Number(roundDiv(byteDays * perGbMonth, GB * BigInt(days) * unit));
    apps.push({
      appId,
      tenantId: list[0].tenantId,
      txs: Number(txs),
      queries: Number(queries),
      gbMonths: Number(byteDays) / 1e9 / days,
      txAmount,
      queryAmount,
      storageAmount,
      total: txAmount + queryAmount + storageAmount,
    });
  }

  const tenants = new Map<string, TenantBill>();
  for (const a of apps.sort((x, y) => cmp(x.tenantId, y.tenantId) || cmp(x.appId, y.appId))) {
    const t = tenants.get(a.tenantId) ?? {
      tenantId: a.tenantId,
      apps: [],
      txs: 0,
      queries: 0,
      gbMonths: 0,
      txAmount: 0,
      queryAmount: 0,
      storageAmount: 0,
      total: 0,
    };
    t.apps.push(a);
    t.txs += a.txs;
    t.queries += a.queries;
    t.gbMonths += a.gbMonths;
    t.txAmount += a.txAmount;
    t.queryAmount += a.queryAmount;
    t.storageAmount += a.storageAmount;
    t.total += a.total;
    tenants.set(a.tenantId, t);
  }
  const list = [...tenants.values()];
  return {
    month,
    days,
    currency: prices.currency,
    minorDigits,
    tenants: list,
    total: list.reduce((s, t) => s + t.total, 0),
  };
}
