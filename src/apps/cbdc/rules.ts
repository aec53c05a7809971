/**
 * The rules of the two-tier digital currency, shared by the `cbdc` contract
 * (contracts/apps/cbdc.ts bundles this file), the CLI and the console: error codes, amounts,
 * wallet classes and their default limits, the day, and the state keys. Import-free and
 * deterministic: it runs inside the contract sandbox too.
 *
 * Amounts are safe integers in fen (1 yuan = 100 fen) everywhere on chain; people type and
 * read yuan with up to two decimals (`parseYuan`, `formatFen`). Safe integers reach 9e15 fen,
 * some 90 trillion yuan, far above any M0.
 */

/** Stable error codes; a contract revert message starts with one of them and ": ". */
export const CBDC_ERRORS = [
  'LIMIT_PER_PAYMENT',
  'LIMIT_DAILY',
  'LIMIT_BALANCE',
  'CBDC_INVALID_ARGS',
  'CBDC_NOT_SET_UP',
  'CBDC_UNKNOWN_ORG',
  'CBDC_FORBIDDEN',
  'CBDC_NOT_CENTRAL',
  'CBDC_NOT_OPERATOR',
  'CBDC_NOT_REGULATOR',
  'CBDC_NOT_YOUR_CUSTOMER',
  'CBDC_NOT_WALLET_KEY',
  'CBDC_UNKNOWN_WALLET',
  'CBDC_WALLET_EXISTS',
  'CBDC_OVER_RESERVES',
  'CBDC_OVER_ALLOCATION',
  'CBDC_OVER_POLICY',
  'CBDC_INSUFFICIENT',
  'CBDC_FROZEN',
  'CBDC_UNKNOWN_ESCROW',
  'CBDC_CLOSED',
  'CBDC_NOT_CONFIRMER',
  'CBDC_DEADLINE_PASSED',
  'CBDC_DEADLINE_NOT_REACHED',
  'CBDC_KYC_MISSING',
  'CBDC_NO_CORRESPONDENT',
  'CBDC_BAD_PACKET',
] as const;
export type CbdcError = (typeof CBDC_ERRORS)[number];

/**
 * The stable CBDC code at the start of a revert message, possibly after context
 * (`approve proposal 2 failed in block 95: CBDC_...: text`, kept in `text`).
 */
export function cbdcErrorOf(message: string): { code: CbdcError; text: string } | undefined {
  const m = /^((?:[\s\S]*?: )?)((?:CBDC|LIMIT)_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (!m || !(CBDC_ERRORS as readonly string[]).includes(m[2])) return undefined;
  return { code: m[2] as CbdcError, text: `${m[1]}${m[3]}` };
}

/** Fen per yuan. */
export const FEN = 100;

/** Yuan text (`2000`, `0.5`, `12.34`) as fen; undefined when it is not such a number. */
export function parseYuan(text: string): number | undefined {
  const m = /^([0-9]{1,13})(?:\.([0-9]{1,2}))?$/.exec(text);
  if (!m) return undefined;
  const fen = Number(m[1]) * FEN + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(fen) ? fen : undefined;
}

/** Fen as yuan with two decimals (`200000` -> `2000.00`). */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return `${sign}${Math.floor(a / FEN)}.${String(a % FEN).padStart(2, '0')}`;
}

/** A wallet class: 1 (in person, highest limits) .. 4 (phone number only, anonymous). */
export type WalletClass = 1 | 2 | 3 | 4;
export const CLASSES: readonly WalletClass[] = [1, 2, 3, 4];

/** Limits in fen; null is no limit. */
export interface Limits {
  balance: number | null;
  perPayment: number | null;
  perDay: number | null;
}

/** The KYC each class needs before an operator opens it (checked by the operator's client). */
export const CLASS_KYC: Record<WalletClass, readonly string[]> = {
  1: ['name', 'idNumber', 'phone', 'bankAccount', 'inPerson'],
  2: ['name', 'idNumber', 'phone', 'bankAccount'],
  3: ['name', 'idNumber', 'phone'],
  4: ['phone'],
};

/**
 * The class policy a setup starts from, in fen: classes 2 and 4 as the PBoC described them at
 * the Lujiazui Forum (June 2021); class 3 as pilots published it (20,000 / 5,000 / 10,000);
 * class 1 without limits. The central bank changes the policy and operators set their own
 * limits within it, so these are data, not constants.
 */
export const DEFAULT_POLICY: Record<WalletClass, Limits> = {
  1: { balance: null, perPayment: null, perDay: null },
  2: { balance: 500_000 * FEN, perPayment: 50_000 * FEN, perDay: 100_000 * FEN },
  3: { balance: 20_000 * FEN, perPayment: 5_000 * FEN, perDay: 10_000 * FEN },
  4: { balance: 10_000 * FEN, perPayment: 2_000 * FEN, perDay: 5_000 * FEN },
};

/** Payments at or above this (fen) are large-value alerts until the regulator sets another. */
export const DEFAULT_ALERT_THRESHOLD = 50_000 * FEN;

/** A day is a UTC calendar day of the block time: days since 1970-01-01. */
export const DAY_MS = 86_400_000;

/** The UTC day of a block time (ms). */
export function dayOf(time: number): number {
  return Math.floor(time / DAY_MS);
}

/** The tighter of two limits (null is none). */
export function tighter(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** Each limit the tighter of the two sets. */
export function tighterLimits(a: Limits, b: Limits | null | undefined): Limits {
  if (!b) return a;
  return {
    balance: tighter(a.balance, b.balance),
    perPayment: tighter(a.perPayment, b.perPayment),
    perDay: tighter(a.perDay, b.perDay),
  };
}

/** True when every limit of `inner` is within `outer` (a null inner is only within a null outer). */
export function withinLimits(inner: Limits, outer: Limits): boolean {
  const ok = (i: number | null, o: number | null) => o === null || (i !== null && i <= o);
  return (
    ok(inner.balance, outer.balance) &&
    ok(inner.perPayment, outer.perPayment) &&
    ok(inner.perDay, outer.perDay)
  );
}

/** A wallet id: the 40-hex account address of its key. */
export const WALLET_ID = /^[0-9a-f]{40}$/;

/** Flows and resolutions per page. */
export const PAGE_SIZE = 100;

/** Zero-padded numbers keep keys in numeric order. */
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** State keys of the contract (under `cbdc/`). */
export const keys = {
  /** {central, operators, regulator, regulatorKey, operatorKeys} */
  roles: 'roles',
  /** {classes: {1..4: Limits}, alertThreshold} */
  policy: 'policy',
  /** An operator's own limits per class, within the policy. */
  limits: (org: string) => `limits/${org}`,
  /** M0 buckets: {issued, redeemed, central, operators, wallets, escrowed, inTransit, abroad} */
  m0: 'm0',
  /** An operator's figures: {reserves, allocated, vault, exchanged, redeemed, wallets} */
  operator: (org: string) => `op/${org}`,
  wallet: (id: string) => `w/${id}`,
  /** The encrypted id-to-person links of a wallet. */
  link: (id: string) => `link/${id}`,
  /** Per UTC day and operator: counts and sums of flows. */
  agg: (day: number, org: string) => `agg/${pad(day, 6)}/${org}`,
  aggDay: (day: number) => `agg/${pad(day, 6)}/`,
  flow: (day: number, org: string, n: number) => `flow/${pad(day, 6)}/${org}/${pad(n, 8)}`,
  flowPage: (day: number, org: string, page: number) =>
    `flow/${pad(day, 6)}/${org}/${pad(page, 6)}`,
  alert: (day: number, org: string, n: number) => `alert/${pad(day, 6)}/${org}/${pad(n, 8)}`,
  alertDay: (day: number) => `alert/${pad(day, 6)}/`,
  /** Escrows and conditional payments, by the id of the tx that made them. */
  escrow: (id: string) => `esc/${id}`,
  cond: (id: string) => `cond/${id}`,
  /** A correspondent central bank, by this chain's client of its chain: rate and totals. */
  correspondent: (client: string) => `corr/${client}`,
  correspondents: 'corr/',
  /** A payment sent abroad, by client and packet sequence. */
  abroad: (client: string, sequence: number) => `xb/${client}/${pad(sequence, 20)}`,
  resolutionCount: 'resolutions',
  resolution: (n: number) => `res/${pad(n, 8)}`,
  resolutionPage: (page: number) => `res/${pad(page, 6)}`,
};
