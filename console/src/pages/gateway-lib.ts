/**
 * Pure helpers of the gateway pages (no DOM, no React; gateway.test.ts runs them in Node):
 * UTC days and months, usage rows as per-day series, bill amounts, quota fields, PEM.
 */
import type { GwUsageCounts, GwUsageRow } from '../api.ts';

const DAY_MS = 86_400_000;

/** The UTC day of `ms` as YYYY-MM-DD (the gateway counts usage per UTC day). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC of a YYYY-MM-DD day, in epoch ms. */
export function dayMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The `n` days ending with `today` (YYYY-MM-DD), oldest first. */
export function lastDays(today: string, n: number): string[] {
  const end = dayMs(today);
  return Array.from({ length: n }, (_, i) => utcDay(end - (n - 1 - i) * DAY_MS));
}

/** The `n` months ending with the month of `today`, newest first (YYYY-MM). */
export function recentMonths(today: string, n: number): string[] {
  let y = Number(today.slice(0, 4));
  let m = Number(today.slice(5, 7));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    m -= 1;
    if (m === 0) {
      m = 12;
      y -= 1;
    }
  }
  return out;
}

export const ZERO: GwUsageCounts = { txs: 0, queries: 0, gas: 0, bytesWritten: 0, rejected: 0 };

/** The counters of `rows` added up. */
export function sumCounts(rows: GwUsageCounts[]): GwUsageCounts {
  const out = { ...ZERO };
  for (const r of rows) {
    out.txs += r.txs;
    out.queries += r.queries;
    out.gas += r.gas;
    out.bytesWritten += r.bytesWritten;
    out.rejected += r.rejected;
  }
  return out;
}

/**
 * One value per day of `days` (0 where no row is): counter `key` of `rows`, of app `appId`
 * alone when given, else of every app.
 */
export function dailySeries(
  rows: GwUsageRow[],
  days: string[],
  key: keyof GwUsageCounts,
  appId?: string,
): number[] {
  const at = new Map(days.map((d, i) => [d, i]));
  const out = days.map(() => 0);
  for (const r of rows) {
    if (appId !== undefined && r.appId !== appId) continue;
    const i = at.get(r.day);
    if (i !== undefined) out[i] += r[key];
  }
  return out;
}

/** An amount in minor units as a decimal: 1234 with 2 digits is "12.34" (as `archi tenant bill`). */
export function money(minor: number, digits: number): string {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  const text = digits > 0 ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return neg ? `-${text}` : text;
}

/** Largest value of a quota: tps is a 32-bit integer column, tpd a safe integer. */
export const QUOTA_MAX = { tps: 2_147_483_647, tpd: Number.MAX_SAFE_INTEGER } as const;

/**
 * A quota field as the gateway takes it: empty (or "none") is no limit (null), else a whole
 * number from 1 to `max`.
 */
export function parseLimit(
  text: string,
  max: number,
): { ok: true; value: number | null } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'none') return { ok: true, value: null };
  if (!/^\d+$/.test(t)) return { ok: false, error: 'a whole number, or empty for no limit' };
  const v = Number(t);
  if (v < 1) return { ok: false, error: 'at least 1 (empty for no limit)' };
  if (v > max) return { ok: false, error: `at most ${max.toLocaleString('en-US')}` };
  return { ok: true, value: v };
}

/** A quota for its input field: the number, or empty for no limit. */
export function limitText(v: number | null): string {
  return v === null ? '' : String(v);
}

/** The DER of the first PEM block of `pem` as hex (for x509.ts's parseCert). */
export function pemToHex(pem: string): string {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error('not PEM');
  const b64 = m[2].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new Error('PEM body is not base64');
  }
  const bin = atob(b64);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return out;
}

/** Bytes for people: 1012 B, 2.5 KB, 3.1 MB (powers of 1000, as the bill's GB). */
export function bytesText(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}
