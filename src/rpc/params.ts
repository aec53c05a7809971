/** Checks of the values a client puts in an RPC path, query or WebSocket message. */
import { ArchiError } from '../types/errors.ts';

/** A non-negative integer parameter; BAD_REQUEST otherwise. */
export function intParam(v: unknown, what: string): number {
  const s = String(v);
  if (!/^[0-9]{1,15}$/.test(s))
    throw new ArchiError('BAD_REQUEST', `${what} must be a non-negative integer`);
  return Number(s);
}

/**
 * A tx id: the 32-byte hash of the payload as 64 hex characters (an optional 0x is dropped),
 * returned lower-case; BAD_REQUEST otherwise.
 */
export function txIdParam(v: unknown, what = 'txId'): string {
  const s = typeof v === 'string' ? v.replace(/^0x/, '') : '';
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    const got = typeof v === 'string' ? JSON.stringify(v.slice(0, 80)) : typeof v;
    throw new ArchiError('BAD_REQUEST', `${what} must be 64 hex characters, got ${got}`);
  }
  return s.toLowerCase();
}
