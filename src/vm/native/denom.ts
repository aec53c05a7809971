/**
 * Denomination names of the `token` contract (docs/INTERCHAIN.md, "Token transfers"): a base
 * (a chain's own denomination, named by its chain id) behind zero or more `transfer/<client>/`
 * hops, one per chain a voucher passed through, the latest first. Pure text rules; what this
 * chain knows of them lives in token-ledger.ts.
 */
import { hex } from '../../types/hex.ts';
import { utf8Bytes } from '../../types/json.ts';
import { CLIENT_ID } from './ibc/keys.ts';

/** The word that opens each hop of a voucher's path (ICS-20's port, here fixed). */
export const HOP = 'transfer';

/** Longest full denomination name: a bound on keys and packet data, not a policy. */
export const MAX_DENOM_CHARS = 512;

/** A base denomination: a chain id (genesis' rule for chain ids). */
export const BASE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The short form of a voucher: `ibc/` and the hex of the chain's 32-byte hash of its full name. */
export const SHORT = /^ibc\/[0-9A-Fa-f]{64}$/;

/** A denomination taken apart: the clients of its hops (latest first) and its base. */
export interface Trace {
  clients: string[];
  base: string;
}

/** The trace of a full denomination name; null when the text is not one. */
export function parseDenom(name: string): Trace | null {
  if (name.length === 0 || name.length > MAX_DENOM_CHARS) return null;
  const parts = name.split('/');
  if (parts.length % 2 === 0) return null;
  const clients: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] !== HOP || !CLIENT_ID.test(parts[i + 1])) return null;
    clients.push(parts[i + 1]);
  }
  const base = parts[parts.length - 1];
  return BASE.test(base) ? { clients, base } : null;
}

/** The voucher a denomination becomes when it arrives over `client` (the receiver's client). */
export function voucherOf(client: string, denom: string): string {
  return `${HOP}/${client}/${denom}`;
}

/**
 * The denomination `denom` had before it came over `client`, if it did (its path starts with
 * `transfer/<client>/`): sent back over that client it goes home. Null otherwise.
 */
export function homeOf(denom: string, client: string): string | null {
  const prefix = `${HOP}/${client}/`;
  return denom.startsWith(prefix) ? denom.slice(prefix.length) : null;
}

/** The `ibc/<HEX>` short form of a full name under a chain's hash. */
export function shortOf(hash: (data: Uint8Array) => Uint8Array, full: string): string {
  return `ibc/${hex(hash(utf8Bytes(full))).toUpperCase()}`;
}
