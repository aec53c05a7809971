import { createHash, hash as oneShotHash } from 'node:crypto';
import { asU8 } from './bytes.ts';

/** SHA-256 digest (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  // crypto.hash skips the Hash object allocation: ~2x faster for small inputs.
  return asU8(oneShotHash('sha256', data, 'buffer'));
}

/** SM3 digest (GB/T 32905, 32 bytes). */
export function sm3(data: Uint8Array): Uint8Array {
  return asU8(oneShotHash('sm3', data, 'buffer'));
}

/** Digest of the concatenation of `parts`, streamed so the parts are never copied together. */
export function hashParts(algorithm: 'sha256' | 'sm3', parts: Uint8Array[]): Uint8Array {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return asU8(h.digest());
}
