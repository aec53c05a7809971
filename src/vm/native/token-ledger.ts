/**
 * The `token` contract's state: balances and supply of each denomination, the traces of known
 * vouchers and the escrow held per client. Every key of the contract is spelled here only.
 * The own denomination keeps the keys it had before there were others (`bal/<addr>`, `supply`),
 * so the state roots of chains that never used interchain transfers do not change.
 */
import { getProfile } from '../../crypto/profile.ts';
import { ArchiError } from '../../types/errors.ts';
import { utf8Bytes, utf8Text } from '../../types/json.ts';
import type { CallContext } from '../context.ts';
import { parseDenom, SHORT, shortOf, type Trace } from './denom.ts';

/** A denomination this chain knows. */
export interface Denom {
  /** Full name: the chain id for the own denomination, the path for a voucher. */
  name: string;
  own: boolean;
  /** A voucher's key in state: the upper-case hex of its short form (empty for the own one). */
  id: string;
}

const keys = {
  ownBalance: (addr: string) => `bal/${addr}`,
  ownSupply: 'supply',
  trace: (id: string) => `denoms/${id}`,
  traces: 'denoms/',
  balance: (id: string, addr: string) => `vbal/${id}/${addr}`,
  supply: (id: string) => `vsupply/${id}`,
  escrow: (client: string, name: string) => `escrow/${client}/${name}`,
} as const;

function readAmount(ctx: CallContext, key: string): bigint {
  const v = ctx.get(key);
  return v === undefined ? 0n : BigInt(utf8Text(v));
}

function writeAmount(ctx: CallContext, key: string, value: bigint): void {
  if (value === 0n) ctx.delete(key);
  else ctx.set(key, utf8Bytes(value.toString()));
}

const balanceKey = (d: Denom, addr: string): string =>
  d.own ? keys.ownBalance(addr) : keys.balance(d.id, addr);
const supplyKey = (d: Denom): string => (d.own ? keys.ownSupply : keys.supply(d.id));

/** The chain's own denomination, named by its chain id. */
export function ownDenom(ctx: CallContext): Denom {
  return { name: ctx.config.chainId, own: true, id: '' };
}

/** `ibc/<HEX>` of a full name under this chain's hash. */
export function shortName(ctx: CallContext, full: string): string {
  return shortOf((d) => getProfile(ctx.config.crypto).hash(d), full);
}

/** The voucher `full` if this chain has a trace of it, else null. */
export function knownVoucher(ctx: CallContext, full: string): Denom | null {
  const id = shortName(ctx, full).slice('ibc/'.length);
  const stored = ctx.get(keys.trace(id));
  return stored !== undefined && utf8Text(stored) === full ? { name: full, own: false, id } : null;
}

/**
 * The denomination a `denom` argument names: absent or the chain id is the own one, a voucher
 * by full name or short form must be known here. INVALID_ARGS for text that is no
 * denomination, IBC_DENOM_UNKNOWN for one this chain has never held.
 */
export function resolveDenom(ctx: CallContext, v: unknown, field = 'denom'): Denom {
  const own = ownDenom(ctx);
  if (v === undefined || v === own.name) return own;
  if (typeof v !== 'string') throw new ArchiError('INVALID_ARGS', `${field} must be a string`);
  if (SHORT.test(v)) {
    const id = v.slice('ibc/'.length).toUpperCase();
    const stored = ctx.get(keys.trace(id));
    if (stored === undefined) {
      throw new ArchiError('IBC_DENOM_UNKNOWN', `no voucher ibc/${id} on this chain`);
    }
    return { name: utf8Text(stored), own: false, id };
  }
  const trace = parseDenom(v);
  if (trace === null) {
    throw new ArchiError(
      'INVALID_ARGS',
      `${field} must be this chain's own denomination (${own.name}), a voucher transfer/<client>/.../<base> or its ibc/<HEX> form`,
    );
  }
  const known = trace.clients.length > 0 ? knownVoucher(ctx, v) : null;
  if (known === null) {
    throw new ArchiError(
      'IBC_DENOM_UNKNOWN',
      trace.clients.length > 0
        ? `no voucher ${v} on this chain`
        : `${v} is not this chain's denomination (its own is ${own.name})`,
    );
  }
  return known;
}

/** The voucher `full` (a valid path), recorded as known the first time this chain holds it. */
export function registerVoucher(ctx: CallContext, full: string): Denom {
  const known = knownVoucher(ctx, full);
  if (known !== null) return known;
  const short = shortName(ctx, full);
  const id = short.slice('ibc/'.length);
  ctx.set(keys.trace(id), utf8Bytes(full));
  ctx.emit('DenomTrace', { denom: full, short });
  return { name: full, own: false, id };
}

/** A known voucher's trace as `denoms` lists it. */
export interface TraceView {
  denom: string;
  short: string;
  /** The hops, `transfer/<client>/...` without the base. */
  path: string;
  base: string;
}

/** Up to `limit` known voucher traces, in the order of their short forms. */
export function listTraces(ctx: CallContext, limit: number): TraceView[] {
  return ctx.range(keys.traces, limit).map(([k, v]) => {
    const denom = utf8Text(v);
    const t = parseDenom(denom) as Trace;
    return {
      denom,
      short: `ibc/${k.slice(keys.traces.length)}`,
      path: denom.slice(0, denom.length - t.base.length - 1),
      base: t.base,
    };
  });
}

/** The balance of `addr` in `d`. */
export function balanceOf(ctx: CallContext, d: Denom, addr: string): bigint {
  return readAmount(ctx, balanceKey(d, addr));
}

/** The supply of `d` on this chain (escrowed amounts included: they are still here). */
export function supplyOf(ctx: CallContext, d: Denom): bigint {
  return readAmount(ctx, supplyKey(d));
}

/** What this chain holds in escrow for `client` in `d`. */
export function escrowOf(ctx: CallContext, client: string, d: Denom): bigint {
  return readAmount(ctx, keys.escrow(client, d.name));
}

function credit(ctx: CallContext, d: Denom, addr: string, value: bigint): void {
  writeAmount(ctx, balanceKey(d, addr), balanceOf(ctx, d, addr) + value);
}

function debit(ctx: CallContext, d: Denom, addr: string, value: bigint): void {
  const bal = balanceOf(ctx, d, addr);
  if (bal < value) {
    throw new ArchiError(
      'INSUFFICIENT_BALANCE',
      d.own
        ? `balance ${bal} is less than ${value}`
        : `balance ${bal} of ${d.name} is less than ${value}`,
    );
  }
  writeAmount(ctx, balanceKey(d, addr), bal - value);
}

/** Create `value` of `d` in `to`'s balance. */
export function mint(ctx: CallContext, d: Denom, to: string, value: bigint): void {
  credit(ctx, d, to, value);
  writeAmount(ctx, supplyKey(d), supplyOf(ctx, d) + value);
}

/** Destroy `value` of `d` from `from`'s balance (INSUFFICIENT_BALANCE if it is short). */
export function burn(ctx: CallContext, d: Denom, from: string, value: bigint): void {
  debit(ctx, d, from, value);
  writeAmount(ctx, supplyKey(d), supplyOf(ctx, d) - value);
}

/** Move `value` of `d` from one balance to another. */
export function move(ctx: CallContext, d: Denom, from: string, to: string, value: bigint): void {
  debit(ctx, d, from, value);
  credit(ctx, d, to, value);
}

/** Lock `value` of `d` from `from`'s balance in `client`'s escrow. */
export function escrow(
  ctx: CallContext,
  client: string,
  d: Denom,
  from: string,
  value: bigint,
): void {
  debit(ctx, d, from, value);
  writeAmount(ctx, keys.escrow(client, d.name), escrowOf(ctx, client, d) + value);
}

/** Release `value` of `d` from `client`'s escrow to `to` (INSUFFICIENT_BALANCE if it is short). */
export function unescrow(
  ctx: CallContext,
  client: string,
  d: Denom,
  to: string,
  value: bigint,
): void {
  const held = escrowOf(ctx, client, d);
  if (held < value) {
    throw new ArchiError(
      'INSUFFICIENT_BALANCE',
      `escrow of ${d.name} for client ${client} is ${held}, less than ${value}`,
    );
  }
  writeAmount(ctx, keys.escrow(client, d.name), held - value);
  credit(ctx, d, to, value);
}
