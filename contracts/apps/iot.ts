/**
 * iot: devices that sign their readings, and batches of readings anchored as Merkle roots.
 * The shapes, keys and codes are in src/apps/iot/rules.ts (bundled with this file, shared
 * with the ingest service and proof verification).
 *
 * - A device is registered by a member organization (admin or client) with its public key on
 *   the chain's curve (P-256, or SM2 on a `gm` chain); its id is derived from the key, its
 *   owner is the sender's organization, and only that organization disables or enables it.
 * - `anchor` records a batch's Merkle root and size with the next sequence number, the
 *   anchoring organization, and the block height and time: what makes a reading's time of
 *   anchoring provable. The readings themselves stay off chain (the ingest service's store).
 * - `proof` reads a device and a batch in one query, so one state proof at one height covers
 *   both (archi iot prove).
 *
 * Errors revert with a message starting with a stable code (`IOT_NOT_OWNER: ...`).
 */
import type { Context, Value } from 'archipelago/contract';
import {
  type AnchorRecord,
  curveOf,
  type DeviceRecord,
  deviceIdOf,
  type IotError,
  isDeviceId,
  isDeviceName,
  isHash,
  isPublicKeyHex,
  keys,
  MAX_BATCH,
  MAX_NAME,
  type Meta,
  PAGE_SIZE,
} from '../../src/apps/iot/rules.ts';

type Args = { [key: string]: Value } | null;
type Dev = DeviceRecord & { [key: string]: Value };
type Batch = AnchorRecord & { [key: string]: Value };

function fail(ctx: Context, code: IotError, message: string): never {
  return ctx.revert(`${code}: ${message}`);
}

/** The args object with only `allowed` fields. */
function fields(ctx: Context, args: Args, allowed: string[]): { [key: string]: Value } {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    fail(ctx, 'IOT_INVALID_ARGS', 'args must be a JSON object');
  }
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      fail(ctx, 'IOT_INVALID_ARGS', `unknown field ${JSON.stringify(k)} (allowed: ${allowed})`);
    }
  }
  return args;
}

/** The sender's organization when an admin or client of it sends; contracts may not. */
function actor(ctx: Context): string {
  const s = ctx.sender;
  if (s.org === '' || (s.role !== 'admin' && s.role !== 'client')) {
    fail(
      ctx,
      'IOT_FORBIDDEN',
      `only an organization's admin or client may do this (sender: ${s.name}, role ${s.role})`,
    );
  }
  return s.org;
}

function meta(ctx: Context): Meta & { [key: string]: Value } {
  return ctx.state.get(keys.meta) ?? { devices: 0, batches: 0, readings: 0 };
}

function pageArg(ctx: Context, v: Value | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(ctx, 'IOT_INVALID_ARGS', 'page must be an integer from 0');
  }
  return v;
}

function idArg(ctx: Context, v: Value | undefined): string {
  if (!isDeviceId(v))
    fail(ctx, 'IOT_INVALID_ARGS', `${JSON.stringify(v)} is not a device id (40 hex)`);
  return v;
}

function known(ctx: Context, id: string): Dev {
  const d = ctx.state.get<Dev>(keys.device(id));
  if (d === undefined) fail(ctx, 'IOT_NOT_FOUND', `no device ${id}`);
  return d;
}

/** Register a device: `{name, publicKey}` (65-byte uncompressed key, hex) on the chain's curve. */
export function addDevice(ctx: Context, args: Args): DeviceRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, ['name', 'publicKey']);
  if (!isDeviceName(a.name)) {
    fail(
      ctx,
      'IOT_INVALID_ARGS',
      `name must be 1..${MAX_NAME} letters, digits or ._:- (got ${JSON.stringify(a.name)})`,
    );
  }
  if (!isPublicKeyHex(a.publicKey)) {
    fail(
      ctx,
      'IOT_BAD_KEY',
      'publicKey must be an uncompressed EC point: 04 and 128 lower-case hex digits',
    );
  }
  const id = deviceIdOf(a.publicKey);
  if (ctx.state.get(keys.device(id)) !== undefined)
    fail(ctx, 'IOT_EXISTS', `device ${id} is registered`);
  if (ctx.state.get(keys.deviceByName(org, a.name)) !== undefined) {
    fail(ctx, 'IOT_EXISTS', `${org} has a device named ${a.name}`);
  }
  const config = ctx.call<{ crypto: string }>('chain_config', 'get', null);
  const m = meta(ctx);
  const rec: Dev = {
    id,
    name: a.name,
    owner: org,
    curve: curveOf(config.crypto),
    publicKey: a.publicKey,
    status: 'active',
    n: m.devices,
    createdAt: ctx.block.height,
    updatedAt: ctx.block.height,
  };
  ctx.state.set(keys.device(id), rec);
  ctx.state.set(keys.deviceAt(m.devices), id);
  ctx.state.set(keys.deviceByName(org, a.name), id);
  m.devices += 1;
  ctx.state.set(keys.meta, m);
  ctx.emit('DeviceAdded', { id, name: a.name, owner: org });
  return rec;
}

function setStatus(ctx: Context, args: Args, status: 'active' | 'disabled'): DeviceRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, ['id']);
  const d = known(ctx, idArg(ctx, a.id));
  if (d.owner !== org)
    fail(ctx, 'IOT_NOT_OWNER', `device ${d.id} belongs to ${d.owner}, not ${org}`);
  if (d.status !== status) {
    d.status = status;
    d.updatedAt = ctx.block.height;
    ctx.state.set(keys.device(d.id), d);
    ctx.emit(status === 'disabled' ? 'DeviceDisabled' : 'DeviceEnabled', { id: d.id, owner: org });
  }
  return d;
}

/** The owner organization disables a device: the ingest service refuses its readings. */
export function disable(ctx: Context, args: Args): DeviceRecord {
  return setStatus(ctx, args, 'disabled');
}

/** The owner organization enables a disabled device again. */
export function enable(ctx: Context, args: Args): DeviceRecord {
  return setStatus(ctx, args, 'active');
}

/** Anchor a batch: `{root, count}`; returns its record with the next sequence number. */
export function anchor(ctx: Context, args: Args): AnchorRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, ['root', 'count']);
  if (!isHash(a.root)) fail(ctx, 'IOT_BAD_ROOT', 'root must be 64 lower-case hex digits');
  const count = a.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH) {
    fail(ctx, 'IOT_INVALID_ARGS', `count must be an integer from 1 to ${MAX_BATCH}`);
  }
  const m = meta(ctx);
  const rec: Batch = {
    seq: m.batches,
    root: a.root,
    count,
    org,
    by: ctx.sender.name,
    height: ctx.block.height,
    time: ctx.block.time,
    txId: ctx.txId,
  };
  ctx.state.set(keys.batch(rec.seq), rec);
  m.batches += 1;
  m.readings += count;
  ctx.state.set(keys.meta, m);
  ctx.emit('Anchored', { seq: rec.seq, root: rec.root, count, org });
  return rec;
}

/** Query: a device by id (null when unknown). */
export function device(ctx: Context, args: Args): DeviceRecord | null {
  const a = fields(ctx, args, ['id']);
  return ctx.state.get<Dev>(keys.device(idArg(ctx, a.id))) ?? null;
}

/** Query: an organization's device by name (null when unknown). */
export function deviceByName(ctx: Context, args: Args): DeviceRecord | null {
  const a = fields(ctx, args, ['org', 'name']);
  if (typeof a.org !== 'string' || !isDeviceName(a.name)) {
    fail(ctx, 'IOT_INVALID_ARGS', 'org and name are required');
  }
  const id = ctx.state.get<string>(keys.deviceByName(a.org, a.name));
  return id === undefined ? null : (ctx.state.get<Dev>(keys.device(id)) ?? null);
}

/** Query: page `page` of the devices in registration order (100 each). */
export function devices(
  ctx: Context,
  args: Args,
): { total: number; page: number; devices: DeviceRecord[] } {
  const a = fields(ctx, args ?? {}, ['page']);
  const page = pageArg(ctx, a.page);
  const total = meta(ctx).devices;
  const out: DeviceRecord[] = [];
  for (let n = page * PAGE_SIZE; n < Math.min(total, (page + 1) * PAGE_SIZE); n++) {
    const id = ctx.state.get<string>(keys.deviceAt(n));
    if (id !== undefined) out.push(known(ctx, id));
  }
  return { total, page, devices: out };
}

/** Query: a batch by sequence number (null when there is none). */
export function batch(ctx: Context, args: Args): AnchorRecord | null {
  const a = fields(ctx, args, ['seq']);
  if (typeof a.seq !== 'number' || !Number.isSafeInteger(a.seq) || a.seq < 0) {
    fail(ctx, 'IOT_INVALID_ARGS', 'seq must be an integer from 0');
  }
  return ctx.state.get<Batch>(keys.batch(a.seq)) ?? null;
}

/** Query: page `page` of the batches, newest first (100 each). */
export function batches(
  ctx: Context,
  args: Args,
): { total: number; page: number; batches: AnchorRecord[] } {
  const a = fields(ctx, args ?? {}, ['page']);
  const page = pageArg(ctx, a.page);
  const total = meta(ctx).batches;
  const out: AnchorRecord[] = [];
  for (let i = page * PAGE_SIZE; i < Math.min(total, (page + 1) * PAGE_SIZE); i++) {
    const rec = ctx.state.get<Batch>(keys.batch(total - 1 - i));
    if (rec !== undefined) out.push(rec);
  }
  return { total, page, batches: out };
}

/** Query: how many devices, batches and anchored readings. */
export function stats(ctx: Context): Meta {
  return meta(ctx);
}

/** Query: a device and a batch read together, so one proof at one height covers both. */
export function proof(
  ctx: Context,
  args: Args,
): { device: DeviceRecord | null; batch: AnchorRecord | null } {
  const a = fields(ctx, args, ['device', 'seq']);
  if (typeof a.seq !== 'number' || !Number.isSafeInteger(a.seq) || a.seq < 0) {
    fail(ctx, 'IOT_INVALID_ARGS', 'seq must be an integer from 0');
  }
  return {
    device: ctx.state.get<Dev>(keys.device(idArg(ctx, a.device))) ?? null,
    batch: ctx.state.get<Batch>(keys.batch(a.seq)) ?? null,
  };
}
