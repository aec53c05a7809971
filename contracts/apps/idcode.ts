/**
 * idcode: city identifier codes (CIDIS) like `MA.156.1301.02`, each held by an organization.
 * The format, the stored records and how a lineage of records resolves are in
 * src/apps/idcode/rules.ts (bundled with this file, shared with the CLI and console).
 *
 * - Roots (`MA.156`) are created and handed to an organization only by a governance
 *   decision: `setRoot` answers only when `ctx.caller` is `governance` (a `contract_call`
 *   proposal that met the chain's governance policy).
 * - Children of a code are issued by its owner, or by an organization the owner delegated
 *   issuing in its subtree to; a new code belongs to its parent's owner unless that owner
 *   issues it to another member organization (`owner`). The owner delegates and takes back.
 * - Revoked codes (and everything below them) are never issued again nor changed.
 * - Every change is an event and an entry in the code's history; children and history are
 *   listed in pages of 100 in issue order.
 *
 * Errors revert with a message starting with a stable code (`IDCODE_NOT_OWNER: ...`).
 * Organization members with role admin or client issue, update and revoke; delegation is
 * an admin's act.
 */
import type { Context, Value } from 'archipelago/contract';
import {
  ancestorsOf,
  type CodeRecord,
  type CodeView,
  FORMAT_HINT,
  type IdcodeError,
  issuersOf,
  KIND,
  keys,
  MAX_METADATA,
  MAX_NAME,
  MAX_SEARCH,
  PAGE_SIZE,
  PREFIX,
  parseCode,
  revokedIn,
  viewOf,
} from '../../src/apps/idcode/rules.ts';

type Args = { [key: string]: Value } | null;
type Rec = CodeRecord & { [key: string]: Value };

function fail(ctx: Context, code: IdcodeError, message: string): never {
  return ctx.revert(`${code}: ${message}`);
}

/** The args object with only `allowed` fields. */
function fields(ctx: Context, args: Args, allowed: string[]): { [key: string]: Value } {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    fail(ctx, 'IDCODE_INVALID_ARGS', 'args must be a JSON object');
  }
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      fail(ctx, 'IDCODE_INVALID_ARGS', `unknown field ${JSON.stringify(k)} (allowed: ${allowed})`);
    }
  }
  return args;
}

function codeArg(ctx: Context, v: Value | undefined): { code: string; parent: string | null } {
  const p = parseCode(v);
  if (!p) fail(ctx, 'IDCODE_BAD_FORMAT', `${JSON.stringify(v)} is not a code (${FORMAT_HINT})`);
  return p;
}

function nameArg(ctx: Context, v: Value | undefined): string {
  // Control characters would garble listings; the bound keeps records small.
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > MAX_NAME || /\p{Cc}/u.test(v)) {
    fail(ctx, 'IDCODE_INVALID_ARGS', `name must be 1..${MAX_NAME} printable characters`);
  }
  return v;
}

function kindArg(ctx: Context, v: Value | undefined): string {
  if (typeof v !== 'string' || !KIND.test(v)) {
    fail(ctx, 'IDCODE_INVALID_ARGS', `kind must match ${KIND} (city, department, facility, ...)`);
  }
  return v;
}

function metadataArg(ctx: Context, v: Value | undefined): { [key: string]: Value } | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || JSON.stringify(v).length > MAX_METADATA) {
    fail(
      ctx,
      'IDCODE_INVALID_ARGS',
      `metadata must be a JSON object of at most ${MAX_METADATA} characters`,
    );
  }
  return v as { [key: string]: Value };
}

/** The sender's organization, when its role may act (`roles`); contracts and others may not. */
function actor(ctx: Context, roles: string[]): string {
  const s = ctx.sender;
  if (s.org === '' || !roles.includes(s.role)) {
    fail(
      ctx,
      'IDCODE_FORBIDDEN',
      `only an organization's ${roles.join(' or ')} may do this (sender: ${s.name}, role ${s.role})`,
    );
  }
  return s.org;
}

/** Organizations of the chain (from its config). */
function isMember(ctx: Context, org: Value | undefined): org is string {
  const config = ctx.call<{ orgs: Array<{ id: string }> }>('chain_config', 'get', null);
  return typeof org === 'string' && config.orgs.some((o) => o.id === org);
}

function memberArg(ctx: Context, org: Value | undefined, field: string): string {
  if (!isMember(ctx, org)) {
    fail(
      ctx,
      'IDCODE_UNKNOWN_ORG',
      `${field} ${JSON.stringify(org)} is not an organization of this chain`,
    );
  }
  return org;
}

function record(ctx: Context, code: string): Rec | undefined {
  return ctx.state.get<Rec>(keys.code(code));
}

/** The records of `code` and its ancestors up to the root; undefined when `code` is unknown. */
function lineage(ctx: Context, code: string): Rec[] | undefined {
  const own = record(ctx, code);
  if (own === undefined) return undefined;
  const out = [own];
  for (const a of ancestorsOf(code)) {
    const rec = record(ctx, a);
    // Every stored code's ancestors are stored: they were checked when it was issued.
    if (rec === undefined) throw new Error(`idcode: ${code} has no stored ancestor ${a}`);
    out.push(rec);
  }
  return out;
}

function known(ctx: Context, code: string): Rec[] {
  const line = lineage(ctx, code);
  if (!line) fail(ctx, 'IDCODE_NOT_FOUND', `${code} is not issued`);
  return line;
}

function refuseRevoked(ctx: Context, line: Rec[]): void {
  const via = revokedIn(line);
  if (via !== null) {
    fail(
      ctx,
      'IDCODE_REVOKED',
      via === line[0].code ? `${via} is revoked` : `${line[0].code} is under revoked ${via}`,
    );
  }
}

/** Append to a code's history, emit the event, store the record. */
function log(ctx: Context, rec: Rec, action: string, data: { [key: string]: Value }): void {
  ctx.state.set(keys.hist(rec.code, rec.history), {
    action,
    org: ctx.sender.org,
    by: ctx.sender.name,
    height: ctx.block.height,
    txId: ctx.txId,
    data,
  });
  rec.history += 1;
  rec.updatedAt = ctx.block.height;
  ctx.state.set(keys.code(rec.code), rec);
  ctx.emit(action, { code: rec.code, ...data });
}

/** Who may change or revoke `line[0]`: its owner, and whoever may issue under its parent. */
function mayManage(line: Rec[], org: string): boolean {
  return line[0].owner === org || (line.length > 1 && issuersOf(line.slice(1)).includes(org));
}

/** Governance sets a root's owner (and name): `archi idcode root MA.156 --to org1`. */
export function setRoot(ctx: Context, args: Args): CodeView {
  if (ctx.caller !== 'governance' || ctx.sender.name !== 'contract:governance') {
    fail(
      ctx,
      'IDCODE_FORBIDDEN',
      'only a governance decision sets a root (a contract_call proposal: archi idcode root)',
    );
  }
  const a = fields(ctx, args, ['code', 'org', 'name']);
  const { code, parent } = codeArg(ctx, a.code);
  if (parent !== null)
    fail(ctx, 'IDCODE_BAD_FORMAT', `${code} is not a root (MA.<country: 3 digits>)`);
  const org = memberArg(ctx, a.org, 'org');
  const name = a.name === undefined ? code : nameArg(ctx, a.name);
  const old = record(ctx, code);
  const rec: Rec = old ?? {
    code,
    parent: null,
    name,
    kind: 'root',
    owner: org,
    delegate: null,
    issuer: 'governance',
    metadata: null,
    status: 'active',
    createdAt: ctx.block.height,
    updatedAt: ctx.block.height,
    revokedAt: null,
    children: 0,
    history: 0,
  };
  const from = old ? old.owner : null;
  rec.owner = org;
  rec.name = name;
  if (!old) ctx.state.set(keys.root(code), true);
  log(ctx, rec, 'RootSet', { owner: org, from, name });
  return viewOf([rec]);
}

/** Issue `code` under its parent: `{code, name, kind, metadata?, owner?}`. */
export function register(ctx: Context, args: Args): CodeView {
  const a = fields(ctx, args, ['code', 'name', 'kind', 'metadata', 'owner']);
  const { code, parent } = codeArg(ctx, a.code);
  if (parent === null)
    fail(ctx, 'IDCODE_FORBIDDEN', `${code} is a root: roots are set by governance`);
  const name = nameArg(ctx, a.name);
  const kind = kindArg(ctx, a.kind);
  const metadata = metadataArg(ctx, a.metadata);
  const org = actor(ctx, ['admin', 'client']);
  const old = record(ctx, code);
  if (old) {
    if (old.status === 'revoked')
      fail(
        ctx,
        'IDCODE_REVOKED',
        `${code} was revoked in block ${old.revokedAt}; codes are never reused`,
      );
    fail(ctx, 'IDCODE_EXISTS', `${code} is already issued (to ${old.owner})`);
  }
  const line = lineage(ctx, parent);
  if (!line) fail(ctx, 'IDCODE_UNKNOWN_PARENT', `${parent} is not issued: issue it before ${code}`);
  refuseRevoked(ctx, line);
  const up = line[0];
  const issuers = issuersOf(line);
  if (!issuers.includes(org)) {
    fail(
      ctx,
      'IDCODE_NOT_OWNER',
      `${org} may not issue under ${parent}: it belongs to ${up.owner}${issuers.length > 1 ? ` (issuing delegated to ${issuers.slice(1).join(', ')})` : ''}`,
    );
  }
  let owner = up.owner;
  if (a.owner !== undefined && a.owner !== up.owner) {
    // A delegate issues for the owner; only the owner hands codes to others.
    if (org !== up.owner)
      fail(
        ctx,
        'IDCODE_NOT_OWNER',
        `only ${up.owner}, the owner of ${parent}, may issue codes to another organization`,
      );
    owner = memberArg(ctx, a.owner, 'owner');
  }
  const rec: Rec = {
    code,
    parent,
    name,
    kind,
    owner,
    delegate: null,
    issuer: org,
    metadata,
    status: 'active',
    createdAt: ctx.block.height,
    updatedAt: ctx.block.height,
    revokedAt: null,
    children: 0,
    history: 0,
  };
  ctx.state.set(keys.child(parent, up.children), code);
  up.children += 1;
  ctx.state.set(keys.code(parent), up);
  log(ctx, rec, 'Issued', { owner, issuer: org, name, kind });
  return viewOf([rec, ...line]);
}

/** Change a code's name, kind or metadata: `{code, name?, kind?, metadata?}`. */
export function update(ctx: Context, args: Args): CodeView {
  const a = fields(ctx, args, ['code', 'name', 'kind', 'metadata']);
  const { code } = codeArg(ctx, a.code);
  const org = actor(ctx, ['admin', 'client']);
  const line = known(ctx, code);
  refuseRevoked(ctx, line);
  if (!mayManage(line, org))
    fail(ctx, 'IDCODE_NOT_OWNER', `${code} belongs to ${line[0].owner}, not ${org}`);
  if (a.name === undefined && a.kind === undefined && a.metadata === undefined) {
    fail(ctx, 'IDCODE_INVALID_ARGS', 'give at least one of name, kind, metadata');
  }
  const rec = line[0];
  const changed: { [key: string]: Value } = {};
  if (a.name !== undefined) rec.name = changed.name = nameArg(ctx, a.name);
  if (a.kind !== undefined) rec.kind = changed.kind = kindArg(ctx, a.kind);
  if (a.metadata !== undefined) rec.metadata = changed.metadata = metadataArg(ctx, a.metadata);
  log(ctx, rec, 'Updated', changed);
  return viewOf(line);
}

/** The owner delegates issuing in a code's subtree to another organization: `{code, to}`. */
export function delegate(ctx: Context, args: Args): CodeView {
  const a = fields(ctx, args, ['code', 'to']);
  const { code } = codeArg(ctx, a.code);
  const org = actor(ctx, ['admin']);
  const line = known(ctx, code);
  refuseRevoked(ctx, line);
  const rec = line[0];
  if (rec.owner !== org)
    fail(ctx, 'IDCODE_NOT_OWNER', `${code} belongs to ${rec.owner}: only its owner delegates`);
  const to = memberArg(ctx, a.to, 'to');
  if (to === rec.owner) fail(ctx, 'IDCODE_INVALID_ARGS', `${to} owns ${code} already`);
  const from = rec.delegate;
  rec.delegate = to;
  log(ctx, rec, 'Delegated', { to, from });
  return viewOf(line);
}

/** The owner takes back what it delegated under a code: `{code}`. */
export function reclaim(ctx: Context, args: Args): CodeView {
  const a = fields(ctx, args, ['code']);
  const { code } = codeArg(ctx, a.code);
  const org = actor(ctx, ['admin']);
  const line = known(ctx, code);
  const rec = line[0];
  if (rec.owner !== org)
    fail(
      ctx,
      'IDCODE_NOT_OWNER',
      `${code} belongs to ${rec.owner}: only its owner takes back a delegation`,
    );
  if (rec.delegate === null)
    fail(ctx, 'IDCODE_NOT_DELEGATED', `nothing under ${code} is delegated`);
  const from = rec.delegate;
  rec.delegate = null;
  log(ctx, rec, 'Reclaimed', { from });
  return viewOf(line);
}

/** Revoke a code and so its subtree, for good: `{code, reason?}`. */
export function revoke(ctx: Context, args: Args): CodeView {
  const a = fields(ctx, args, ['code', 'reason']);
  const { code, parent } = codeArg(ctx, a.code);
  if (parent === null)
    fail(ctx, 'IDCODE_FORBIDDEN', `${code} is a root: roots change only by governance`);
  const reason = a.reason === undefined ? null : nameArg(ctx, a.reason);
  const org = actor(ctx, ['admin', 'client']);
  const line = known(ctx, code);
  refuseRevoked(ctx, line);
  if (!mayManage(line, org))
    fail(ctx, 'IDCODE_NOT_OWNER', `${code} belongs to ${line[0].owner}, not ${org}`);
  const rec = line[0];
  rec.status = 'revoked';
  rec.revokedAt = ctx.block.height;
  log(ctx, rec, 'Revoked', { reason });
  return viewOf(line);
}

/** A code with what its ancestors make of it, or null when it is not issued. */
export function resolve(ctx: Context, args: Args): CodeView | null {
  const a = fields(ctx, args, ['code']);
  const { code } = codeArg(ctx, a.code);
  const line = lineage(ctx, code);
  return line ? viewOf(line) : null;
}

/** Children of a code in issue order, a page of 100: `{code, page?}`. */
export function children(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['code', 'page']);
  const { code } = codeArg(ctx, a.code);
  const page = pageArg(ctx, a.page);
  const rec = record(ctx, code);
  if (!rec) fail(ctx, 'IDCODE_NOT_FOUND', `${code} is not issued`);
  const rows = ctx.state.range<string>(keys.page('child', code, page), PAGE_SIZE).map(([, c]) => {
    const r = record(ctx, c) as Rec;
    return {
      code: c,
      name: r.name,
      kind: r.kind,
      owner: r.owner,
      status: r.status,
      children: r.children,
    };
  });
  return { code, total: rec.children, page, pageSize: PAGE_SIZE, children: rows };
}

/** A code's history, oldest first, a page of 100: `{code, page?}`. */
export function history(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['code', 'page']);
  const { code } = codeArg(ctx, a.code);
  const page = pageArg(ctx, a.page);
  const rec = record(ctx, code);
  if (!rec) fail(ctx, 'IDCODE_NOT_FOUND', `${code} is not issued`);
  const entries = ctx.state
    .range<{ [key: string]: Value }>(keys.page('hist', code, page), PAGE_SIZE)
    .map(([, e]) => e);
  return { code, total: rec.history, page, pageSize: PAGE_SIZE, entries };
}

/** The roots and their owners. */
export function roots(ctx: Context): Value {
  return ctx.state.range('root/', 1000).map(([k]) => {
    const r = record(ctx, k.slice('root/'.length)) as Rec;
    return {
      code: r.code,
      name: r.name,
      owner: r.owner,
      delegate: r.delegate,
      children: r.children,
    };
  });
}

/** Codes starting with `prefix` in code order (at most `limit`, default and max 100). */
export function search(ctx: Context, args: Args): Value {
  const a = fields(ctx, args, ['prefix', 'limit']);
  const prefix = a.prefix ?? '';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    fail(ctx, 'IDCODE_INVALID_ARGS', `prefix must match ${PREFIX}`);
  }
  const limit = a.limit ?? MAX_SEARCH;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_SEARCH) {
    fail(ctx, 'IDCODE_INVALID_ARGS', `limit must be an integer in 1..${MAX_SEARCH}`);
  }
  return ctx.state.range<Rec>(keys.code(prefix), limit as number).map(([, r]) => ({
    code: r.code,
    name: r.name,
    kind: r.kind,
    owner: r.owner,
    status: r.status,
  }));
}

function pageArg(ctx: Context, v: Value | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > 999_999) {
    fail(ctx, 'IDCODE_INVALID_ARGS', 'page must be an integer in 0..999999');
  }
  return v as number;
}
