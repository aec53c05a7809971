/**
 * The rules of product traceability, shared by the `trace` contract (contracts/apps/trace.ts
 * bundles this file), the CLI and the console, so all three agree on what a serial is, which
 * step may follow which, and what an item's stored records say about it. Import-free and
 * deterministic: it runs inside the contract sandbox and in the browser too.
 */

/** Stable error codes; a contract revert message starts with one of them and ": ". */
export const TRACE_ERRORS = [
  'TRACE_INVALID_ARGS',
  'TRACE_BAD_FORMAT',
  'TRACE_FORBIDDEN',
  'TRACE_NOT_ALLOWED',
  'TRACE_UNKNOWN_ORG',
  'TRACE_UNKNOWN_BATCH',
  'TRACE_UNKNOWN_SERIAL',
  'TRACE_BATCH_EXISTS',
  'TRACE_SERIAL_EXISTS',
  'TRACE_BAD_ORDER',
  'TRACE_RECALLED',
  'TRACE_LIMIT',
  'TRACE_NOT_AUTHENTIC',
  'TRACE_COUNTERFEIT',
] as const;
export type TraceError = (typeof TRACE_ERRORS)[number];

export const TRACE_CONTRACT = 'trace';

/** Steps an organization records on an item; `produced` is the registration itself. */
export const STEPS = ['inspected', 'shipped', 'received', 'sold'] as const;
export type Step = (typeof STEPS)[number];
/** Every stage an item can be at. */
export type Stage = 'produced' | Step;

/**
 * The stages each step may follow: inspection at the factory or on arrival, any number of
 * shipped/received hops, and a sale from the maker's or a receiver's hands. Nothing follows
 * a sale (a recall is the batch's, not a step).
 */
export const MAY_FOLLOW: Readonly<Record<Step, readonly Stage[]>> = {
  inspected: ['produced', 'inspected', 'received'],
  shipped: ['produced', 'inspected', 'received'],
  received: ['shipped'],
  sold: ['produced', 'inspected', 'received'],
};

/** Serials and batch ids: 1..64 of A-Z a-z 0-9 . _ - (printed on labels, used in URLs). */
export const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Secret codes: 8..64 of A-Z a-z 0-9 - (printed under a scratch layer or in a QR code). */
export const CODE = /^[A-Za-z0-9-]{8,64}$/;
/** A commitment: sha256 hex (src/apps/trace/commitment.ts). */
export const COMMITMENT = /^[0-9a-f]{64}$/;
/** An iot reading id (src/apps/iot/reading.ts). */
export const READING = /^[0-9a-f]{64}$/;
/** Product names, places, notes and reasons: printable text up to this many characters. */
export const MAX_TEXT = 128;
/** Serials registered in one tx (a tx is at most 64 KiB). */
export const MAX_REGISTER = 250;
/** Events one item may carry (so one query proves its whole timeline). */
export const MAX_EVENTS = 64;
/** Reading references per event. */
export const MAX_READINGS = 16;
/** Serials per page of a batch listing. */
export const PAGE_SIZE = 100;

/** Printable text of 1..MAX_TEXT characters. */
export function isText(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= MAX_TEXT && !/\p{Cc}/u.test(v);
}

/** A batch as stored under `batch/<id>`. */
export interface BatchRecord {
  id: string;
  product: string;
  /** The organization that made it: the only one that registers serials, grants and recalls. */
  maker: string;
  createdAt: number;
  createdTime: number;
  /** Serials registered so far (their index runs 0..serials-1). */
  serials: number;
  recall: Recall | null;
}

export interface Recall {
  reason: string;
  by: string;
  height: number;
  time: number;
  txId: string;
}

/** Where and when a code was first revealed. */
export interface Reveal {
  place: string;
  by: string;
  height: number;
  time: number;
  txId: string;
}

/** An item as stored under `item/<serial>`. */
export interface ItemRecord {
  serial: string;
  batch: string;
  /** sha256 of the serial and its secret code (commitment.ts): the code stays off chain. */
  commitment: string;
  producedAt: number;
  producedTime: number;
  producedBy: string;
  producedTx: string;
  /** Events recorded so far (their index runs 0..events-1). */
  events: number;
  stage: Stage;
  /** The first public verification, or null while the code is unrevealed. */
  revealed: Reveal | null;
  /** Later verifications of the same code (each a likely counterfeit), and the last one. */
  repeats: number;
  lastRepeat: Reveal | null;
}

/** One recorded step, stored under `ev/<serial>/<n>`. */
export interface EventRecord {
  step: Step;
  org: string;
  by: string;
  height: number;
  time: number;
  txId: string;
  place: string | null;
  note: string | null;
  readings: string[];
}

/** One line of an item's timeline: its production, its events, its batch's recall. */
export interface TimelineEntry {
  step: Stage | 'recalled';
  org: string;
  by: string;
  height: number;
  time: number;
  txId: string;
  place: string | null;
  note: string | null;
  readings: string[];
}

/** What `item` answers: the item with its batch, timeline and verification state. */
export interface ItemView {
  serial: string;
  batch: string;
  product: string;
  maker: string;
  commitment: string;
  stage: Stage;
  recalled: Recall | null;
  revealed: Reveal | null;
  repeats: number;
  lastRepeat: Reveal | null;
  timeline: TimelineEntry[];
}

/** The view of an item from its record, its batch's record and its events in order. */
export function viewOf(item: ItemRecord, batch: BatchRecord, events: EventRecord[]): ItemView {
  const timeline: TimelineEntry[] = [
    {
      step: 'produced',
      org: batch.maker,
      by: item.producedBy,
      height: item.producedAt,
      time: item.producedTime,
      txId: item.producedTx,
      place: null,
      note: null,
      readings: [],
    },
    ...events.map((e) => ({ ...e })),
  ];
  const r = batch.recall;
  if (r) {
    timeline.push({
      step: 'recalled',
      org: batch.maker,
      by: r.by,
      height: r.height,
      time: r.time,
      txId: r.txId,
      place: null,
      note: r.reason,
      readings: [],
    });
  }
  return {
    serial: item.serial,
    batch: item.batch,
    product: batch.product,
    maker: batch.maker,
    commitment: item.commitment,
    stage: item.stage,
    recalled: r,
    revealed: item.revealed,
    repeats: item.repeats,
    lastRepeat: item.lastRepeat,
    timeline,
  };
}

/** The authenticity verdict an item's view supports, as the verification page words it. */
export type Verdict = 'unverified' | 'verified-once' | 'counterfeit-suspected';

/** What the view says of the item's code: never revealed, revealed once, or revealed again. */
export function verdictOf(v: ItemView): Verdict {
  if (v.revealed === null) return 'unverified';
  return v.repeats > 0 ? 'counterfeit-suspected' : 'verified-once';
}

/** State keys (under the contract). */
export const keys = {
  batch: (id: string): string => `batch/${id}`,
  item: (serial: string): string => `item/${serial}`,
  event: (serial: string, n: number): string => `ev/${serial}/${pad(n)}`,
  /** The n-th serial of a batch, in registration order. */
  serialOf: (batch: string, n: number): string => `bs/${batch}/${pad(n)}`,
  /** The prefix of page `page` (PAGE_SIZE entries) of a batch's serials. */
  serialPage: (batch: string, page: number): string =>
    `bs/${batch}/${String(page).padStart(6, '0')}`,
  /** Steps `org` may record on items made by `maker`. */
  role: (maker: string, org: string): string => `role/${maker}/${org}`,
  rolePrefix: (maker: string): string => `role/${maker}/`,
};

/** 8 digits: with 6-digit page prefixes, a page is exactly PAGE_SIZE (100) entries. */
function pad(n: number): string {
  return String(n).padStart(8, '0');
}

/**
 * The stable code in a contract revert message `TRACE_...: text`, also when a caller put
 * context before it; undefined when there is none.
 */
export function traceErrorOf(message: string): { code: TraceError; text: string } | undefined {
  const m = /^((?:[\s\S]*?: )?)(TRACE_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (!m || !(TRACE_ERRORS as readonly string[]).includes(m[2])) return undefined;
  return { code: m[2] as TraceError, text: `${m[1]}${m[3]}` };
}

/**
 * An item's view rebuilt from proven reads (`record(key)`: the stored JSON at `<contract>/<key>`,
 * null when proven absent; it throws when the proof does not cover the key): null when the
 * item is proven unregistered. Shared by the CLI and the console so both check the same way.
 */
export function itemFromRecords(
  serial: string,
  record: (key: string) => unknown | null,
): ItemView | null {
  const it = record(keys.item(serial)) as ItemRecord | null;
  if (it === null) return null;
  const b = record(keys.batch(it.batch)) as BatchRecord | null;
  if (b === null) throw new Error(`${serial} is stored without its batch ${it.batch}`);
  const events: EventRecord[] = [];
  for (let n = 0; n < it.events; n++) {
    const e = record(keys.event(serial, n)) as EventRecord | null;
    if (e === null) throw new Error(`${serial} is stored without its event ${n}`);
    events.push(e);
  }
  return viewOf(it, b, events);
}
