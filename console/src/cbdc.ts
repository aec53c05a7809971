/**
 * The digital-currency pages without React (docs/apps/cbdc.md): the shapes the `cbdc`
 * contract's queries answer, M0 over heights rebuilt from the contract's own events (the
 * contract keeps only today's buckets), per-day sums, and what a wallet has left of its limits.
 * Amounts are fen, as on chain; pages print them with formatFen.
 */
import { DAY_MS, dayOf, formatFen, type Limits } from '../../src/apps/cbdc/rules.ts';

export { DAY_MS, dayOf, formatFen, type Limits };

/** The contract the pages read. */
export const CBDC = 'cbdc';

/** The M0 buckets and totals the `m0` record and `report` hold (fen). */
export interface M0 {
  issued: number;
  redeemed: number;
  central: number;
  operators: number;
  wallets: number;
  escrowed: number;
  /** Sent abroad, not yet acknowledged by the other chain. */
  inTransit: number;
  /** Paid to wallets abroad: held by correspondent central banks. */
  abroad: number;
}

/** One operator's figures in `report.perOperator`. */
export interface OperatorFigures {
  org: string;
  reserves: number;
  allocated: number;
  vault: number;
  exchanged: number;
  redeemed: number;
  wallets: number;
}

/** The `report` query's answer. */
export interface Report extends M0 {
  outstanding: number;
  conserved: boolean;
  height: number;
  time: number;
  perOperator: OperatorFigures[];
}

/** The `getRoles` query's answer (null before setup). */
export interface Roles {
  central: string;
  operators: string[];
  regulator: string;
}

/** The `wallet` query's answer. */
export interface WalletView {
  wallet: string;
  operator: string;
  class: number;
  parent: string | null;
  merchant: string | null;
  balance: number;
  spentToday: number;
  day: number;
  limits: Limits;
  frozen: boolean;
  /** Block time (ms) of the block that opened it. */
  openedAt: number;
}

/** Per operator and day: counts and sums of flows (`aggregates`). */
export interface Agg {
  flows: number;
  payments: number;
  paid: number;
  exchanged: number;
  redeemed: number;
  alerts: number;
}

/** One recorded flow (and, at or above the threshold, alert). */
export interface Flow {
  kind: string;
  operator: string;
  from: string | null;
  to: string | null;
  amount: number;
  memo: string | null;
  time: number;
  height: number;
  txId: string;
}

/** One entry of the resolution audit trail. */
export interface Resolution {
  n: number;
  wallet: string;
  resolvedVia: string;
  org: string;
  as: 'regulator' | 'operator';
  by: string;
  reason: string | null;
  time: number;
  height: number;
  txId: string;
}

/** The parts of a committed cbdc tx that tell how it moved M0. */
export interface CbdcTx {
  txId: string;
  height: number;
  time: number;
  method: string;
  status: 'ok' | 'error';
  result: unknown;
  events: Array<{ contract: string; name: string; data: unknown }>;
}

const ZERO: M0 = {
  issued: 0,
  redeemed: 0,
  central: 0,
  operators: 0,
  wallets: 0,
  escrowed: 0,
  inTransit: 0,
  abroad: 0,
};

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const field = (data: unknown, k: string): number =>
  typeof data === 'object' && data !== null ? num((data as Record<string, unknown>)[k]) : 0;

/**
 * How one tx moved the M0 buckets, from the events the contract emitted (every method that
 * moves money emits one with the amount; a settled or returned conditional payment names only
 * its id, so its amount is the tx's result, the payment record). Cross-border events come in
 * txs of the `ibc` contract, which calls cbdc's packet handlers. A failed tx moved nothing.
 */
export function m0Delta(tx: CbdcTx): M0 {
  const d = { ...ZERO };
  if (tx.status !== 'ok') return d;
  const move = (from: keyof M0 | null, to: keyof M0 | null, amount: number) => {
    if (from) d[from] -= amount;
    if (to) d[to] += amount;
  };
  for (const e of tx.events) {
    if (e.contract !== CBDC) continue;
    const a = field(e.data, 'amount');
    switch (e.name) {
      case 'Issued':
        d.issued += a;
        d.central += a;
        break;
      case 'Allocated':
        move('central', 'operators', a);
        break;
      case 'Exchanged':
        move('operators', 'wallets', a);
        break;
      case 'Redeemed':
        d.wallets -= a;
        d.redeemed += a;
        break;
      case 'EscrowOpened':
        move('wallets', 'escrowed', field(e.data, 'perDelivery') * field(e.data, 'deliveries'));
        break;
      case 'EscrowReleased':
        move('escrowed', 'wallets', a);
        break;
      case 'EscrowCancelled':
        move('escrowed', 'wallets', field(e.data, 'refund'));
        break;
      case 'ConditionalPayment':
        move('wallets', 'escrowed', a);
        break;
      case 'ConditionalSettled':
      case 'ConditionalReturned':
        move('escrowed', 'wallets', field(tx.result, 'amount'));
        break;
      case 'PaidAbroad':
        move('wallets', 'inTransit', a);
        break;
      case 'PaidAbroadSettled':
        move('inTransit', 'abroad', a);
        break;
      case 'PaidAbroadRefunded':
        move('inTransit', 'wallets', a);
        break;
      case 'PaidFromAbroad':
        move('central', 'wallets', a);
        break;
    }
  }
  return d;
}

/** M0 after a tx (or at the start of the scanned history). */
export interface M0Point extends M0 {
  height: number;
  time: number;
  txId: string | null;
}

/** M0 over heights, oldest first, and whether it was rebuilt back to the chain's start. */
export interface M0History {
  points: M0Point[];
  /** True when every cbdc tx down to genesis was read: the first point must then be all zero. */
  complete: boolean;
  /** With `complete`, whether the rebuilt start is zero (the events account for all of M0). */
  consistent: boolean | null;
}

/**
 * M0 after each of `txs` (newest first, every cbdc tx down to where the scan stopped), walked
 * back from `now` (the `report` at the newest height): each point is the state after its tx,
 * the first one the state before the oldest tx read. Anchoring on the current report keeps
 * the newest figures exact even when the scan stops short of genesis.
 */
export function m0History(
  now: M0 & { height: number; time: number },
  txs: CbdcTx[],
  complete: boolean,
): M0History {
  let cur = pick(now);
  const rev: M0Point[] = [];
  for (const tx of txs) {
    const d = m0Delta(tx);
    if (isZero(d)) continue;
    rev.push({ ...cur, height: tx.height, time: tx.time, txId: tx.txId });
    cur = sub(cur, d);
  }
  const oldest = rev[rev.length - 1];
  // The start: the state before the oldest tx read (or now, when no tx moved money).
  rev.push(
    oldest
      ? { ...cur, height: oldest.height - 1, time: oldest.time, txId: null }
      : { ...cur, height: now.height, time: now.time, txId: null },
  );
  const points = rev.reverse();
  return { points, complete, consistent: complete ? isZero(pick(points[0])) : null };
}

function pick(m: M0): M0 {
  const out = { ...ZERO };
  // A report from before the cross-border buckets has no inTransit or abroad: zero.
  for (const k of Object.keys(ZERO) as Array<keyof M0>) out[k] = num(m[k]);
  return out;
}

function sub(a: M0, b: M0): M0 {
  const out = { ...a };
  for (const k of Object.keys(ZERO) as Array<keyof M0>) out[k] = a[k] - b[k];
  return out;
}

function isZero(m: M0): boolean {
  return (Object.keys(ZERO) as Array<keyof M0>).every((k) => m[k] === 0);
}

/** A UTC day number as YYYY-MM-DD. */
export function dayText(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** YYYY-MM-DD as a UTC day number; undefined when it is not such a date. */
export function dayFromText(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && dayText(ms / DAY_MS) === text ? ms / DAY_MS : undefined;
}

/** The `n` UTC days ending with `last`, oldest first. */
export function daysEnding(last: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => last - n + 1 + i);
}

/**
 * Per UTC day from the first to the last point's: fen issued and redeemed that day, and M0
 * outstanding (issued - redeemed) at the end of it.
 */
export function dailyM0(points: M0Point[]): {
  days: string[];
  issued: number[];
  redeemed: number[];
  outstanding: number[];
} {
  const out = {
    days: [] as string[],
    issued: [] as number[],
    redeemed: [] as number[],
    outstanding: [] as number[],
  };
  if (points.length === 0) return out;
  const first = dayOf(points[0].time);
  const last = dayOf(points[points.length - 1].time);
  let i = 0;
  let prev = points[0];
  for (let day = first; day <= last; day++) {
    let issued = 0;
    let redeemed = 0;
    while (i < points.length && dayOf(points[i].time) <= day) {
      issued += points[i].issued - prev.issued;
      redeemed += points[i].redeemed - prev.redeemed;
      prev = points[i];
      i++;
    }
    out.days.push(dayText(day));
    out.issued.push(issued);
    out.redeemed.push(redeemed);
    out.outstanding.push(prev.issued - prev.redeemed);
  }
  return out;
}

/** Counts and sums of several operators' aggregates (a day's total). */
export function sumAggs(aggs: Agg[]): Agg {
  const t: Agg = { flows: 0, payments: 0, paid: 0, exchanged: 0, redeemed: 0, alerts: 0 };
  for (const a of aggs) {
    for (const k of Object.keys(t) as Array<keyof Agg>) t[k] += num(a[k]);
  }
  return t;
}

/** One limit of a wallet and how much of it is used: null `limit` is no limit. */
export interface LimitUse {
  name: 'balance' | 'perDay';
  limit: number | null;
  used: number;
  left: number | null;
  /** Share used, 0..1 (0 without a limit). */
  share: number;
}

/** What the wallet holds against its balance limit and spent today against its daily limit. */
export function limitsUsed(w: Pick<WalletView, 'balance' | 'spentToday' | 'limits'>): LimitUse[] {
  const use = (name: LimitUse['name'], limit: number | null, used: number): LimitUse => ({
    name,
    limit,
    used,
    left: limit === null ? null : Math.max(0, limit - used),
    share:
      limit === null || limit === 0 ? (limit === 0 && used > 0 ? 1 : 0) : Math.min(1, used / limit),
  });
  return [
    use('balance', w.limits.balance, w.balance),
    use('perDay', w.limits.perDay, w.spentToday),
  ];
}

/** Wallets opened per operator, in the order the scanned txs opened them (oldest first). */
export function walletsOpened(txs: CbdcTx[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const tx of [...txs].reverse()) {
    if (tx.status !== 'ok') continue;
    for (const e of tx.events) {
      if (e.contract !== CBDC || e.name !== 'WalletOpened') continue;
      const d = e.data as { wallet?: unknown; operator?: unknown };
      if (typeof d.wallet !== 'string' || typeof d.operator !== 'string') continue;
      const list = out.get(d.operator) ?? [];
      list.push(d.wallet);
      out.set(d.operator, list);
    }
  }
  return out;
}

/** Fen as yuan for people: thousands separated, two decimals (`123456789` -> `1,234,567.89`). */
export function yuan(fen: number): string {
  const [whole, cents] = formatFen(fen).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  return `${sign}${Number(whole.replace('-', '')).toLocaleString('en-US')}.${cents}`;
}

/** One movement of a wallet's money, as its events tell it. */
export interface Activity {
  kind: string;
  /** Signed: positive into the wallet, negative out of it. */
  amount: number;
  counterparty: string | null;
  memo: string | null;
  height: number;
  time: number;
  txId: string;
}

/** Exchanges, payments in and out and redemptions of `wallet` in `txs`, newest first. */
export function walletActivity(txs: CbdcTx[], wallet: string): Activity[] {
  const out: Activity[] = [];
  for (const tx of txs) {
    if (tx.status !== 'ok') continue;
    for (const e of tx.events) {
      if (e.contract !== CBDC) continue;
      const d = (e.data ?? {}) as Record<string, unknown>;
      const at = { height: tx.height, time: tx.time, txId: tx.txId };
      const memo = typeof d.memo === 'string' ? d.memo : null;
      const a = num(d.amount);
      if (e.name === 'Exchanged' && d.wallet === wallet) {
        out.push({ kind: 'exchange', amount: a, counterparty: null, memo: null, ...at });
      } else if (e.name === 'Redeemed' && d.wallet === wallet) {
        out.push({ kind: 'redeem', amount: -a, counterparty: null, memo: null, ...at });
      } else if (e.name === 'Paid' && d.from === wallet) {
        out.push({ kind: 'paid', amount: -a, counterparty: String(d.to), memo, ...at });
      } else if (e.name === 'Paid' && d.to === wallet) {
        out.push({ kind: 'received', amount: a, counterparty: String(d.from), memo, ...at });
      } else if (e.name === 'PaidAbroad' && d.from === wallet) {
        const to = `${String(d.client)}:${String(d.to)}`;
        out.push({ kind: 'paid abroad', amount: -a, counterparty: to, memo, ...at });
      } else if (e.name === 'PaidAbroadRefunded' && d.from === wallet) {
        out.push({ kind: 'refund from abroad', amount: a, counterparty: null, memo: null, ...at });
      } else if (e.name === 'PaidFromAbroad' && d.to === wallet) {
        out.push({
          kind: 'received from abroad',
          amount: a,
          counterparty: String(d.from),
          memo,
          ...at,
        });
      }
    }
  }
  return out;
}
