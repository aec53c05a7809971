/**
 * datashare: trusted data sharing. Datasets stay off chain, encrypted under a data key in a
 * content-addressed store; the chain holds what they are (name, hashes, size, schema, terms),
 * who may open them (grants carrying the data key sealed to each grantee user's key), and an
 * audit trail of every publish, grant, revocation and fetch. The shapes, keys and codes are in
 * src/apps/datashare/rules.ts (bundled with this file, shared with the CLI and the console).
 *
 * - A member organization's admin or client publishes a dataset; that organization owns it
 *   and only its members grant, revoke and re-publish it under a new key.
 * - A grant is to one organization, with the key sealed to some of its users, until an
 *   optional block time. Granting again replaces the grant (renewal or re-grant).
 * - `fetch` is how a grantee gets the sealed key: it refuses unless the grant is live by this
 *   block's time (DATA_NOT_GRANTED, DATA_REVOKED, DATA_EXPIRED), and otherwise records the
 *   audit entry in the same tx, so no key leaves the chain's state without its entry.
 * - On certificate chains a user enrolls its certificate so providers can seal keys to it;
 *   the contract records the enrolling signer's address, which the certificate's key must hash
 *   to (contracts have no hash function: clients check it, with the chain of the org's CA).
 *
 * Errors revert with a message starting with a stable code (`DATA_NOT_OWNER: ...`).
 */
import type { Context, Value } from 'archipelago/contract';
import {
  type AuditEntry,
  type DataError,
  type DatasetRecord,
  type GrantRecord,
  type GrantView,
  grantState,
  grantView,
  isDatasetName,
  isHash,
  isSealed,
  isUserName,
  keys,
  MAX_CERT_HEX,
  MAX_SCHEMA,
  MAX_TERMS,
  MAX_WRAPS,
  type MemberRecord,
  type Meta,
  PAGE_SIZE,
  suiteOf,
} from '../../src/apps/datashare/rules.ts';

type Args = { [key: string]: Value } | null;
type Ds = DatasetRecord & { [key: string]: Value };
type Grant = GrantRecord & { [key: string]: Value };
type Obj = { [key: string]: Value };

function fail(ctx: Context, code: DataError, message: string): never {
  return ctx.revert(`${code}: ${message}`);
}

/** The args object with only `allowed` fields. */
function fields(ctx: Context, args: Args, allowed: string[]): Obj {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    fail(ctx, 'DATA_INVALID_ARGS', 'args must be a JSON object');
  }
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      fail(ctx, 'DATA_INVALID_ARGS', `unknown field ${JSON.stringify(k)} (allowed: ${allowed})`);
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
      'DATA_FORBIDDEN',
      `only an organization's admin or client may do this (sender: ${s.name}, role ${s.role})`,
    );
  }
  return s.org;
}

function meta(ctx: Context): Meta & Obj {
  return ctx.state.get(keys.meta) ?? { datasets: 0, fetches: 0 };
}

function nameArg(ctx: Context, v: Value | undefined): string {
  if (!isDatasetName(v)) {
    fail(
      ctx,
      'DATA_INVALID_ARGS',
      `${JSON.stringify(v)} is not a dataset name (1-64 of a-z 0-9 . _ -, starting with a letter or digit)`,
    );
  }
  return v;
}

function known(ctx: Context, name: string): Ds {
  const d = ctx.state.get<Ds>(keys.dataset(name));
  if (d === undefined) fail(ctx, 'DATA_UNKNOWN', `no dataset ${name}`);
  return d;
}

function owned(ctx: Context, name: string, org: string): Ds {
  const d = known(ctx, name);
  if (d.owner !== org) fail(ctx, 'DATA_NOT_OWNER', `${name} belongs to ${d.owner}, not ${org}`);
  return d;
}

function textArg(ctx: Context, v: Value | undefined, field: string, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > max) {
    fail(ctx, 'DATA_INVALID_ARGS', `${field} must be text of at most ${max} characters`);
  }
  return v;
}

function sizeArg(ctx: Context, v: Value | undefined, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(ctx, 'DATA_INVALID_ARGS', `${field} must be an integer from 0`);
  }
  return v;
}

function hashArg(ctx: Context, v: Value | undefined, field: string): string {
  if (!isHash(v)) fail(ctx, 'DATA_INVALID_ARGS', `${field} must be 64 lower-case hex digits`);
  return v;
}

function sealedArg(ctx: Context, v: Value | undefined, field: string): string {
  if (!isSealed(v)) fail(ctx, 'DATA_INVALID_ARGS', `${field} must be a sealed key (base64)`);
  return v;
}

/** `{user: sealedKey}` for at most MAX_WRAPS users. */
function keysArg(ctx: Context, v: Value | undefined, field: string): { [user: string]: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(ctx, 'DATA_INVALID_ARGS', `${field} must be an object of user name -> sealed key`);
  }
  const users = Object.keys(v);
  if (users.length === 0 || users.length > MAX_WRAPS) {
    fail(ctx, 'DATA_INVALID_ARGS', `${field} must seal the key to 1..${MAX_WRAPS} users`);
  }
  const out: { [user: string]: string } = {};
  for (const u of users.sort()) {
    if (!isUserName(u)) fail(ctx, 'DATA_INVALID_ARGS', `${JSON.stringify(u)} is not a user name`);
    out[u] = sealedArg(ctx, v[u], `${field}.${u}`);
  }
  return out;
}

function isMember(ctx: Context, org: Value | undefined): org is string {
  const config = ctx.call<{ orgs: Array<{ id: string }> }>('chain_config', 'get', null);
  return typeof org === 'string' && config.orgs.some((o) => o.id === org);
}

function orgArg(ctx: Context, v: Value | undefined): string {
  if (!isMember(ctx, v)) {
    fail(ctx, 'DATA_UNKNOWN_ORG', `${JSON.stringify(v)} is not an organization of this chain`);
  }
  return v;
}

/** Append an audit entry for `d` (and store `d` with its new count). */
function audit(ctx: Context, d: Ds, action: AuditEntry['action'], grantee: string | null): number {
  const seq = d.audits;
  const entry: AuditEntry & Obj = {
    seq,
    action,
    org: ctx.sender.org,
    user: ctx.sender.name,
    id: ctx.sender.id,
    grantee,
    version: d.version,
    height: ctx.block.height,
    time: ctx.block.time,
    txId: ctx.txId,
  };
  ctx.state.set(keys.audit(d.name, seq), entry);
  d.audits += 1;
  d.updatedAt = ctx.block.height;
  ctx.state.set(keys.dataset(d.name), d);
  return seq;
}

/** The publish fields common to publish and republish, checked. */
function content(ctx: Context, a: Obj) {
  const config = ctx.call<{ crypto: string }>('chain_config', 'get', null);
  return {
    size: sizeArg(ctx, a.size, 'size'),
    plainHash: hashArg(ctx, a.plainHash, 'plainHash'),
    cipherHash: hashArg(ctx, a.cipherHash, 'cipherHash'),
    cipherSize: sizeArg(ctx, a.cipherSize, 'cipherSize'),
    ownerKey: sealedArg(ctx, a.ownerKey, 'ownerKey'),
    ...suiteOf(config.crypto),
  };
}

const CONTENT = ['name', 'size', 'plainHash', 'cipherHash', 'cipherSize', 'ownerKey'];

/** Publish a dataset: `{name, size, plainHash, cipherHash, cipherSize, ownerKey, schema?, terms?}`. */
export function publish(ctx: Context, args: Args): DatasetRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, [...CONTENT, 'schema', 'terms']);
  const name = nameArg(ctx, a.name);
  const c = content(ctx, a);
  const schema = textArg(ctx, a.schema, 'schema', MAX_SCHEMA);
  const terms = textArg(ctx, a.terms, 'terms', MAX_TERMS);
  const old = ctx.state.get<Ds>(keys.dataset(name));
  if (old !== undefined) {
    fail(
      ctx,
      'DATA_EXISTS',
      `${name} is published by ${old.owner}; its owner re-publishes it under a new key (archi data publish --replace)`,
    );
  }
  const m = meta(ctx);
  const d: Ds = {
    name,
    owner: org,
    publisher: ctx.sender.name,
    version: 1,
    ...c,
    schema,
    terms,
    n: m.datasets,
    grants: 0,
    audits: 0,
    createdAt: ctx.block.height,
    updatedAt: ctx.block.height,
    time: ctx.block.time,
  };
  ctx.state.set(keys.datasetAt(m.datasets), name);
  m.datasets += 1;
  ctx.state.set(keys.meta, m);
  audit(ctx, d, 'publish', null);
  ctx.emit('Published', { name, owner: org, cipherHash: c.cipherHash, size: c.size });
  return d;
}

function grantsOf(ctx: Context, name: string): Grant[] {
  return ctx.state.range<Grant>(keys.grants(name), 1000).map(([, g]) => g);
}

/**
 * Re-publish under a new data key: `{name, size, plainHash, cipherHash, cipherSize, ownerKey,
 * schema?, terms?, grants: {org: {user: sealed}}}`. Grants carried over get the new key; every
 * other live grant is revoked, since its sealed key opens only the old ciphertext.
 */
export function republish(ctx: Context, args: Args): DatasetRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, [...CONTENT, 'schema', 'terms', 'grants']);
  const d = owned(ctx, nameArg(ctx, a.name), org);
  const c = content(ctx, a);
  const carried = a.grants ?? {};
  if (typeof carried !== 'object' || carried === null || Array.isArray(carried)) {
    fail(ctx, 'DATA_INVALID_ARGS', 'grants must be an object of org -> {user: sealed key}');
  }
  const live = new Map<string, Grant>();
  for (const g of grantsOf(ctx, d.name)) {
    if (grantState(g, ctx.block.time) === 'live') live.set(g.org, g);
  }
  for (const o of Object.keys(carried).sort()) {
    if (!live.has(o)) fail(ctx, 'DATA_NOT_GRANTED', `${d.name} has no live grant to ${o}`);
  }
  Object.assign(d, c);
  d.version += 1;
  d.publisher = ctx.sender.name;
  d.time = ctx.block.time;
  if (a.schema !== undefined) d.schema = textArg(ctx, a.schema, 'schema', MAX_SCHEMA);
  if (a.terms !== undefined) d.terms = textArg(ctx, a.terms, 'terms', MAX_TERMS);
  audit(ctx, d, 'republish', null);
  for (const [o, g] of [...live.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (carried[o] !== undefined) {
      g.keys = keysArg(ctx, carried[o], `grants.${o}`);
      g.version = d.version;
    } else {
      g.keys = {};
      g.status = 'revoked';
      g.revokedAt = ctx.block.height;
      g.revokedBy = ctx.sender.name;
      // The trail says who lost access with the old key, as a revoke would.
      audit(ctx, d, 'revoke', o);
      ctx.emit('Revoked', { name: d.name, org: o });
    }
    ctx.state.set(keys.grant(d.name, o), g);
  }
  ctx.emit('Republished', { name: d.name, version: d.version, cipherHash: c.cipherHash });
  return d;
}

/** Grant `org` access: `{name, org, keys: {user: sealed}, until?}` (until: block time, ms). */
export function grant(ctx: Context, args: Args): GrantView {
  const owner = actor(ctx);
  const a = fields(ctx, args, ['name', 'org', 'keys', 'until']);
  const d = owned(ctx, nameArg(ctx, a.name), owner);
  const org = orgArg(ctx, a.org);
  const sealed = keysArg(ctx, a.keys, 'keys');
  let until: number | null = null;
  if (a.until !== undefined && a.until !== null) {
    if (typeof a.until !== 'number' || !Number.isSafeInteger(a.until)) {
      fail(ctx, 'DATA_INVALID_ARGS', 'until must be a block time in ms since the epoch');
    }
    if (a.until <= ctx.block.time) {
      fail(
        ctx,
        'DATA_INVALID_ARGS',
        `until ${a.until} is not after this block's time ${ctx.block.time} (ms since the epoch)`,
      );
    }
    until = a.until;
  }
  const old = ctx.state.get<Grant>(keys.grant(d.name, org));
  const g: Grant = {
    dataset: d.name,
    org,
    keys: sealed,
    until,
    status: 'live',
    version: d.version,
    grantedBy: ctx.sender.name,
    grantedAt: ctx.block.height,
    revokedAt: null,
    revokedBy: null,
  };
  ctx.state.set(keys.grant(d.name, org), g);
  if (old === undefined) d.grants += 1;
  audit(ctx, d, 'grant', org);
  ctx.emit('Granted', { name: d.name, org, users: Object.keys(sealed), until });
  return grantView(g, ctx.block.time);
}

/** Revoke `org`'s grant: `{name, org}`; its sealed keys are dropped from state. */
export function revoke(ctx: Context, args: Args): GrantView {
  const owner = actor(ctx);
  const a = fields(ctx, args, ['name', 'org']);
  const d = owned(ctx, nameArg(ctx, a.name), owner);
  if (typeof a.org !== 'string') fail(ctx, 'DATA_INVALID_ARGS', 'org is required');
  const g = ctx.state.get<Grant>(keys.grant(d.name, a.org));
  if (g === undefined) fail(ctx, 'DATA_NOT_GRANTED', `${d.name} was never granted to ${a.org}`);
  if (g.status === 'revoked') {
    fail(ctx, 'DATA_REVOKED', `${d.name}'s grant to ${a.org} was revoked in block ${g.revokedAt}`);
  }
  g.keys = {};
  g.status = 'revoked';
  g.revokedAt = ctx.block.height;
  g.revokedBy = ctx.sender.name;
  ctx.state.set(keys.grant(d.name, a.org), g);
  audit(ctx, d, 'revoke', a.org);
  ctx.emit('Revoked', { name: d.name, org: a.org });
  return grantView(g, ctx.block.time);
}

/**
 * A grantee (or the publisher) takes the sealed data key: `{name}`. Refused unless a grant to
 * the sender's organization is live at this block's time and seals the key to the sender;
 * the audit entry is written by the same tx.
 */
export function fetch(
  ctx: Context,
  args: Args,
): { dataset: DatasetRecord; sealedKey: string; seq: number } {
  const org = actor(ctx);
  const a = fields(ctx, args, ['name']);
  const d = known(ctx, nameArg(ctx, a.name));
  const user = ctx.sender.name;
  let sealedKey: string;
  if (org === d.owner && user === d.publisher) {
    sealedKey = d.ownerKey;
  } else {
    const g = ctx.state.get<Grant>(keys.grant(d.name, org));
    if (g === undefined) fail(ctx, 'DATA_NOT_GRANTED', `${d.name} is not granted to ${org}`);
    const state = grantState(g, ctx.block.time);
    if (state === 'revoked') {
      fail(ctx, 'DATA_REVOKED', `${d.name}'s grant to ${org} was revoked in block ${g.revokedAt}`);
    }
    if (state === 'expired') {
      fail(
        ctx,
        'DATA_EXPIRED',
        `${d.name}'s grant to ${org} ended at block time ${g.until} (ms since the epoch; now ${ctx.block.time})`,
      );
    }
    const k = g.keys[user];
    if (k === undefined) {
      fail(
        ctx,
        'DATA_NOT_GRANTED',
        `${d.name}'s grant to ${org} seals the key to ${Object.keys(g.keys).join(', ')}, not ${user}`,
      );
    }
    sealedKey = k;
  }
  const seq = audit(ctx, d, 'fetch', null);
  const m = meta(ctx);
  m.fetches += 1;
  ctx.state.set(keys.meta, m);
  ctx.emit('Fetched', { name: d.name, org, user, version: d.version, seq });
  return { dataset: d, sealedKey, seq };
}

/** Enroll the sender's certificate (DER, hex) so providers can seal keys to it: `{cert}`. */
export function enroll(ctx: Context, args: Args): MemberRecord {
  const org = actor(ctx);
  const a = fields(ctx, args, ['cert']);
  if (
    typeof a.cert !== 'string' ||
    a.cert.length > MAX_CERT_HEX ||
    a.cert.length % 2 !== 0 ||
    !/^[0-9a-f]+$/.test(a.cert)
  ) {
    fail(
      ctx,
      'DATA_INVALID_ARGS',
      `cert must be a DER certificate in lower-case hex (at most ${MAX_CERT_HEX} digits)`,
    );
  }
  const rec: MemberRecord & Obj = {
    org,
    user: ctx.sender.name,
    id: ctx.sender.id,
    cert: a.cert,
    height: ctx.block.height,
  };
  ctx.state.set(keys.member(org, rec.user), rec);
  ctx.emit('Enrolled', { org, user: rec.user, id: rec.id });
  return rec;
}

/** Query: a dataset (null when unknown). */
export function dataset(ctx: Context, args: Args): DatasetRecord | null {
  const a = fields(ctx, args, ['name']);
  return ctx.state.get<Ds>(keys.dataset(nameArg(ctx, a.name))) ?? null;
}

/** Query: page `page` of the datasets in publish order (100 each). */
export function datasets(
  ctx: Context,
  args: Args,
): { total: number; page: number; datasets: DatasetRecord[] } {
  const a = fields(ctx, args ?? {}, ['page']);
  const page = a.page ?? 0;
  if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 0) {
    fail(ctx, 'DATA_INVALID_ARGS', 'page must be an integer from 0');
  }
  const total = meta(ctx).datasets;
  const out: DatasetRecord[] = [];
  for (let n = page * PAGE_SIZE; n < Math.min(total, (page + 1) * PAGE_SIZE); n++) {
    const name = ctx.state.get<string>(keys.datasetAt(n));
    if (name !== undefined) out.push(known(ctx, name));
  }
  return { total, page, datasets: out };
}

/** Query: a dataset's grants in organization order, judged at the latest block's time. */
export function grants(ctx: Context, args: Args): GrantView[] {
  const a = fields(ctx, args, ['name']);
  const d = known(ctx, nameArg(ctx, a.name));
  return grantsOf(ctx, d.name).map((g) => grantView(g, ctx.block.time));
}

/** Query: page `page` of a dataset's audit trail, newest first (100 each). */
export function auditTrail(
  ctx: Context,
  args: Args,
): { name: string; total: number; page: number; entries: AuditEntry[] } {
  const a = fields(ctx, args, ['name', 'page']);
  const d = known(ctx, nameArg(ctx, a.name));
  const page = a.page ?? 0;
  if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 0) {
    fail(ctx, 'DATA_INVALID_ARGS', 'page must be an integer from 0');
  }
  const out: AuditEntry[] = [];
  for (let i = page * PAGE_SIZE; i < Math.min(d.audits, (page + 1) * PAGE_SIZE); i++) {
    const e = ctx.state.get<AuditEntry & Obj>(keys.audit(d.name, d.audits - 1 - i));
    if (e !== undefined) out.push(e);
  }
  return { name: d.name, total: d.audits, page, entries: out };
}

/** Query: a member's enrolled certificate (null when it has not enrolled). */
export function member(ctx: Context, args: Args): MemberRecord | null {
  const a = fields(ctx, args, ['org', 'user']);
  if (typeof a.org !== 'string' || !isUserName(a.user)) {
    fail(ctx, 'DATA_INVALID_ARGS', 'org and user are required');
  }
  return ctx.state.get<MemberRecord & Obj>(keys.member(a.org, a.user)) ?? null;
}

/** Query: the enrolled members of an organization, in name order (at most 1000). */
export function members(ctx: Context, args: Args): MemberRecord[] {
  const a = fields(ctx, args, ['org']);
  if (typeof a.org !== 'string' || a.org.includes('/')) {
    fail(ctx, 'DATA_INVALID_ARGS', 'org is required');
  }
  return ctx.state.range<MemberRecord & Obj>(keys.members(a.org), 1000).map(([, m]) => m);
}

/** Query: how many datasets and fetches. */
export function stats(ctx: Context): Meta {
  return meta(ctx);
}
