/**
 * trace: product batches and serials, their lifecycle, anti-counterfeit codes and recalls.
 * The shapes, keys, step order and codes are in src/apps/trace/rules.ts; the commitment hash
 * is src/apps/trace/commitment.ts (both bundled with this file, shared with CLI and console).
 *
 * - A maker (an organization's admin or client) creates a batch and registers its serials,
 *   each with the commitment to its secret code, up to MAX_REGISTER per tx; registering is
 *   the item's `produced` step.
 * - The maker's admin grants other organizations the steps they may record on its items
 *   (inspected, shipped, received, sold); the maker may record every step itself. A step out
 *   of lifecycle order (MAY_FOLLOW) is TRACE_BAD_ORDER; an event can carry iot reading ids.
 * - `verify` is the public check: any identity of the chain (the verification service's)
 *   reveals an item's code; the first matching reveal is recorded with its place and block
 *   time, a later one of the same code is recorded as a repeat and answered `counterfeit`
 *   with the first; a code that does not match is TRACE_NOT_AUTHENTIC and records nothing.
 * - The maker's admin recalls a batch: every item of it shows the recall and takes no more
 *   events.
 * - `item` reads only single keys (the item, its batch, its events by number) so that one
 *   state proof covers the whole answer.
 */
import type { Context, Value } from 'archipelago/contract';
import { commitmentOf } from '../../src/apps/trace/commitment.ts';
import {
  type BatchRecord,
  CODE,
  COMMITMENT,
  type EventRecord,
  ID,
  type ItemRecord,
  type ItemView,
  isText,
  keys,
  MAX_EVENTS,
  MAX_READINGS,
  MAX_REGISTER,
  MAX_TEXT,
  MAY_FOLLOW,
  PAGE_SIZE,
  READING,
  type Recall,
  type Reveal,
  STEPS,
  type Step,
  type TraceError,
  viewOf,
} from '../../src/apps/trace/rules.ts';

type Args = { [key: string]: Value } | null;
type Batch = BatchRecord & { [key: string]: Value };
type Item = ItemRecord & { [key: string]: Value };

function fail(ctx: Context, code: TraceError, message: string): never {
  return ctx.revert(`${code}: ${message}`);
}

/** The args object with only `allowed` fields. */
function fields(ctx: Context, args: Args, allowed: string[]): { [key: string]: Value } {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    fail(ctx, 'TRACE_INVALID_ARGS', 'args must be a JSON object');
  }
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      fail(ctx, 'TRACE_INVALID_ARGS', `unknown field ${JSON.stringify(k)} (allowed: ${allowed})`);
    }
  }
  return args;
}

function idArg(ctx: Context, v: Value | undefined, what: string): string {
  if (typeof v !== 'string' || !ID.test(v)) {
    fail(
      ctx,
      'TRACE_BAD_FORMAT',
      `${what} ${JSON.stringify(v)} must be 1..64 of A-Z a-z 0-9 . _ -`,
    );
  }
  return v;
}

function textArg(
  ctx: Context,
  v: Value | undefined,
  what: string,
  optional: boolean,
): string | null {
  if (v === undefined || v === null) {
    if (optional) return null;
    fail(ctx, 'TRACE_INVALID_ARGS', `${what} is required`);
  }
  if (!isText(v))
    fail(ctx, 'TRACE_INVALID_ARGS', `${what} must be 1..${MAX_TEXT} printable characters`);
  return v;
}

/** The sender's organization when an admin (or, if `client`, a client) of it sends. */
function actor(ctx: Context, client: boolean): string {
  const s = ctx.sender;
  if (s.org === '' || !(s.role === 'admin' || (client && s.role === 'client'))) {
    fail(
      ctx,
      'TRACE_FORBIDDEN',
      `only an organization's admin${client ? ' or client' : ''} may do this (sender: ${s.name}, role ${s.role})`,
    );
  }
  return s.org;
}

function batchOf(ctx: Context, id: string): Batch {
  const b = ctx.state.get<Batch>(keys.batch(id));
  if (!b) fail(ctx, 'TRACE_UNKNOWN_BATCH', `no batch ${id}`);
  return b;
}

function itemOf(ctx: Context, serial: string): Item {
  const it = ctx.state.get<Item>(keys.item(serial));
  if (!it) fail(ctx, 'TRACE_UNKNOWN_SERIAL', `no item with serial ${serial}`);
  return it;
}

function makerOnly(ctx: Context, b: Batch, org: string, what: string): void {
  if (b.maker !== org)
    fail(ctx, 'TRACE_NOT_ALLOWED', `batch ${b.id} is ${b.maker}'s: only it ${what}`);
}

function refuseRecalled(ctx: Context, b: Batch): void {
  if (b.recall) {
    fail(
      ctx,
      'TRACE_RECALLED',
      `batch ${b.id} was recalled in block ${b.recall.height}: ${b.recall.reason}`,
    );
  }
}

/** Create a batch of a product: `{batch, product}` (admin or client of the maker). */
export function createBatch(ctx: Context, args: Args): BatchRecord {
  const a = fields(ctx, args, ['batch', 'product']);
  const id = idArg(ctx, a.batch, 'batch');
  const product = textArg(ctx, a.product, 'product', false) as string;
  const org = actor(ctx, true);
  const old = ctx.state.get<Batch>(keys.batch(id));
  if (old) fail(ctx, 'TRACE_BATCH_EXISTS', `batch ${id} exists (made by ${old.maker})`);
  const b: Batch = {
    id,
    product,
    maker: org,
    createdAt: ctx.block.height,
    createdTime: ctx.block.time,
    serials: 0,
    recall: null,
  };
  ctx.state.set(keys.batch(id), b);
  ctx.emit('BatchCreated', { batch: id, product, maker: org });
  return b;
}

/**
 * Register serials of a batch with their code commitments: `{batch, items: [{serial,
 * commitment}]}`, at most MAX_REGISTER. All or nothing: one bad item refuses the tx.
 */
export function register(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['batch', 'items']);
  const id = idArg(ctx, a.batch, 'batch');
  const org = actor(ctx, true);
  const b = batchOf(ctx, id);
  makerOnly(ctx, b, org, 'registers its serials');
  refuseRecalled(ctx, b);
  const items = a.items;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_REGISTER) {
    fail(
      ctx,
      'TRACE_INVALID_ARGS',
      `items must be an array of 1..${MAX_REGISTER} {serial, commitment}`,
    );
  }
  const seen: { [serial: string]: boolean } = {};
  for (const raw of items) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(ctx, 'TRACE_INVALID_ARGS', 'each item must be {serial, commitment}');
    }
    const it = raw as { [key: string]: Value };
    const serial = idArg(ctx, it.serial, 'serial');
    if (typeof it.commitment !== 'string' || !COMMITMENT.test(it.commitment)) {
      fail(ctx, 'TRACE_BAD_FORMAT', `the commitment of ${serial} must be 64 lower-case hex`);
    }
    if (seen[serial] || ctx.state.has(keys.item(serial))) {
      fail(ctx, 'TRACE_SERIAL_EXISTS', `serial ${serial} is registered already`);
    }
    seen[serial] = true;
    const rec: Item = {
      serial,
      batch: id,
      commitment: it.commitment,
      producedAt: ctx.block.height,
      producedTime: ctx.block.time,
      producedBy: ctx.sender.name,
      producedTx: ctx.txId,
      events: 0,
      stage: 'produced',
      revealed: null,
      repeats: 0,
      lastRepeat: null,
    };
    ctx.state.set(keys.item(serial), rec);
    ctx.state.set(keys.serialOf(id, b.serials), serial);
    b.serials += 1;
  }
  ctx.state.set(keys.batch(id), b);
  ctx.emit('Registered', { batch: id, count: items.length, total: b.serials });
  return { batch: id, registered: items.length, total: b.serials };
}

/** The maker's admin sets the steps `org` may record on its items: `{org, steps}` ([] revokes). */
export function grant(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['org', 'steps']);
  const maker = actor(ctx, false);
  const config = ctx.call<{ orgs: Array<{ id: string }> }>('chain_config', 'get', null);
  const org = a.org;
  if (typeof org !== 'string' || !config.orgs.some((o) => o.id === org)) {
    fail(ctx, 'TRACE_UNKNOWN_ORG', `${JSON.stringify(org)} is not an organization of this chain`);
  }
  if (org === maker)
    fail(ctx, 'TRACE_INVALID_ARGS', `${maker} records every step of its items already`);
  const steps = a.steps;
  if (!Array.isArray(steps) || steps.some((s) => !(STEPS as readonly Value[]).includes(s))) {
    fail(ctx, 'TRACE_INVALID_ARGS', `steps must be a list of ${STEPS.join(', ')}`);
  }
  // Stored in the lifecycle's order, once each, whatever order they came in.
  const list = STEPS.filter((s) => steps.includes(s));
  if (list.length === 0) ctx.state.delete(keys.role(maker, org));
  else ctx.state.set(keys.role(maker, org), list);
  ctx.emit('Granted', { maker, org, steps: list });
  return { maker, org, steps: list };
}

/**
 * Record a step on an item: `{serial, step, place?, note?, readings?}` by the maker or an
 * organization it granted the step to, in lifecycle order, unless its batch is recalled.
 */
export function event(ctx: Context, args: Args): EventRecord {
  const a = fields(ctx, args, ['serial', 'step', 'place', 'note', 'readings']);
  const serial = idArg(ctx, a.serial, 'serial');
  const step = a.step;
  if (typeof step !== 'string' || !(STEPS as readonly string[]).includes(step)) {
    fail(
      ctx,
      'TRACE_INVALID_ARGS',
      `step must be one of ${STEPS.join(', ')} (produced is the registration)`,
    );
  }
  const place = textArg(ctx, a.place, 'place', true);
  const note = textArg(ctx, a.note, 'note', true);
  const readings = a.readings ?? [];
  if (
    !Array.isArray(readings) ||
    readings.length > MAX_READINGS ||
    readings.some((r) => typeof r !== 'string' || !READING.test(r))
  ) {
    fail(
      ctx,
      'TRACE_INVALID_ARGS',
      `readings must be at most ${MAX_READINGS} iot reading ids (64 hex)`,
    );
  }
  const org = actor(ctx, true);
  const item = itemOf(ctx, serial);
  const b = batchOf(ctx, item.batch);
  if (org !== b.maker) {
    const allowed = ctx.state.get<string[]>(keys.role(b.maker, org)) ?? [];
    if (!allowed.includes(step)) {
      fail(
        ctx,
        'TRACE_NOT_ALLOWED',
        `${b.maker} has not granted ${org} the step ${step}${allowed.length ? ` (granted: ${allowed.join(', ')})` : ''}`,
      );
    }
  }
  refuseRecalled(ctx, b);
  if (!MAY_FOLLOW[step as Step].includes(item.stage)) {
    fail(
      ctx,
      'TRACE_BAD_ORDER',
      `${serial} is ${item.stage}: ${step} may follow only ${MAY_FOLLOW[step as Step].join(', ')}`,
    );
  }
  if (item.events >= MAX_EVENTS)
    fail(ctx, 'TRACE_LIMIT', `${serial} has ${MAX_EVENTS} events, the most an item keeps`);
  const e: EventRecord & { [key: string]: Value } = {
    step: step as Step,
    org,
    by: ctx.sender.name,
    height: ctx.block.height,
    time: ctx.block.time,
    txId: ctx.txId,
    place,
    note,
    readings: readings as string[],
  };
  ctx.state.set(keys.event(serial, item.events), e);
  item.events += 1;
  item.stage = step as Step;
  ctx.state.set(keys.item(serial), item);
  ctx.emit('Event', { serial, step, org });
  return e;
}

/** The maker's admin recalls a batch: `{batch, reason}`; every item of it shows the recall. */
export function recall(ctx: Context, args: Args): BatchRecord {
  const a = fields(ctx, args, ['batch', 'reason']);
  const id = idArg(ctx, a.batch, 'batch');
  const reason = textArg(ctx, a.reason, 'reason', false) as string;
  const org = actor(ctx, false);
  const b = batchOf(ctx, id);
  makerOnly(ctx, b, org, 'recalls it');
  refuseRecalled(ctx, b);
  b.recall = {
    reason,
    by: ctx.sender.name,
    height: ctx.block.height,
    time: ctx.block.time,
    txId: ctx.txId,
  };
  ctx.state.set(keys.batch(id), b);
  ctx.emit('Recalled', { batch: id, reason, serials: b.serials });
  return b;
}

/**
 * The public verification: `{serial, code, place?}` reveals the item's code. A code that does
 * not match its commitment is TRACE_NOT_AUTHENTIC (nothing recorded); the first match records
 * the reveal (`authentic`); a later one records a repeat and answers `counterfeit` with the
 * first reveal's time and place. Any member identity may send it (a verification service).
 */
export function verify(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['serial', 'code', 'place']);
  const serial = idArg(ctx, a.serial, 'serial');
  if (typeof a.code !== 'string' || !CODE.test(a.code)) {
    fail(ctx, 'TRACE_BAD_FORMAT', 'code must be 8..64 of A-Z a-z 0-9 -');
  }
  const place = textArg(ctx, a.place, 'place', true) ?? 'unknown';
  if (ctx.sender.org === '')
    fail(ctx, 'TRACE_FORBIDDEN', 'a verification is sent by an identity, not a contract');
  const item = itemOf(ctx, serial);
  const b = batchOf(ctx, item.batch);
  if (commitmentOf(serial, a.code) !== item.commitment) {
    fail(
      ctx,
      'TRACE_NOT_AUTHENTIC',
      `this code is not the one ${b.maker} committed to for ${serial}`,
    );
  }
  const now: Reveal & { [key: string]: Value } = {
    place,
    by: ctx.sender.name,
    height: ctx.block.height,
    time: ctx.block.time,
    txId: ctx.txId,
  };
  let verdict: 'authentic' | 'counterfeit';
  if (item.revealed === null) {
    item.revealed = now;
    verdict = 'authentic';
  } else {
    item.repeats += 1;
    item.lastRepeat = now;
    verdict = 'counterfeit';
  }
  ctx.state.set(keys.item(serial), item);
  ctx.emit(verdict === 'authentic' ? 'Verified' : 'Repeated', { serial, place });
  return {
    serial,
    verdict,
    first: item.revealed as Reveal & { [key: string]: Value },
    repeats: item.repeats,
    recalled: b.recall as (Recall & { [key: string]: Value }) | null,
    product: b.product,
    maker: b.maker,
  };
}

/** An item with its batch, timeline and verification state, or null when unknown. */
export function item(ctx: Context, args: Args): ItemView | null {
  const a = fields(ctx, args, ['serial']);
  const serial = idArg(ctx, a.serial, 'serial');
  const it = ctx.state.get<Item>(keys.item(serial));
  if (!it) return null;
  const b = ctx.state.get<Batch>(keys.batch(it.batch));
  // Every stored item's batch is stored: it was checked when the item was registered.
  if (!b) throw new Error(`trace: ${serial} has no stored batch ${it.batch}`);
  const events: EventRecord[] = [];
  for (let n = 0; n < it.events; n++) {
    const e = ctx.state.get<EventRecord & { [key: string]: Value }>(keys.event(serial, n));
    if (!e) throw new Error(`trace: ${serial} has no stored event ${n}`);
    events.push(e);
  }
  return viewOf(it, b, events);
}

/** A batch, or null when unknown. */
export function batch(ctx: Context, args: Args): BatchRecord | null {
  const a = fields(ctx, args, ['batch']);
  return ctx.state.get<Batch>(keys.batch(idArg(ctx, a.batch, 'batch'))) ?? null;
}

/** A batch's serials in registration order, a page of 100: `{batch, page?}`. */
export function serials(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['batch', 'page']);
  const id = idArg(ctx, a.batch, 'batch');
  const page = a.page ?? 0;
  if (!Number.isSafeInteger(page) || (page as number) < 0 || (page as number) > 999_999) {
    fail(ctx, 'TRACE_INVALID_ARGS', 'page must be an integer in 0..999999');
  }
  const b = batchOf(ctx, id);
  const rows = ctx.state
    .range<string>(keys.serialPage(id, page as number), PAGE_SIZE)
    .map(([, s]) => s);
  return { batch: id, total: b.serials, page, pageSize: PAGE_SIZE, serials: rows };
}

/** The organizations `maker` granted steps to, with their steps. */
export function roles(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['maker']);
  const maker = idArg(ctx, a.maker, 'maker');
  const prefix = keys.rolePrefix(maker);
  return ctx.state
    .range<string[]>(prefix, 1000)
    .map(([k, steps]) => ({ org: k.slice(prefix.length), steps }));
}
