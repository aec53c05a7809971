/**
 * The commitment to an item's secret code: sha256 of `trace/v1`, the serial and the code,
 * newline-separated. The maker publishes only this; the first verification reveals the code
 * and the contract checks it against the commitment. The serial salts the hash, so one
 * precomputed table cannot serve every item, and codes of CODE (8..64 characters, random when
 * `archi trace codes` makes them) are not guessable from it.
 *
 * Contracts have no hash function in their API, so the contract bundles this file (and the
 * portable SHA-256 it imports) and hashes in the sandbox (two SHA-256 blocks at most for the
 * lengths ID and CODE allow), and the CLI computes the same commitments.
 */

import { sha256Padded } from '../../crypto/sha256-portable.ts';

/** SHA-256 hex of an ASCII string (every char code below 128; others are refused). */
export function sha256Ascii(text: string): string {
  const n = text.length;
  const blocks = Math.ceil((n + 9) / 64);
  const bytes: number[] = new Array(blocks * 64).fill(0);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) throw new Error('sha256Ascii: not ASCII');
    bytes[i] = c;
  }
  bytes[n] = 0x80;
  const bits = n * 8;
  bytes[bytes.length - 4] = (bits >>> 24) & 0xff;
  bytes[bytes.length - 3] = (bits >>> 16) & 0xff;
  bytes[bytes.length - 2] = (bits >>> 8) & 0xff;
  bytes[bytes.length - 1] = bits & 0xff;
  return sha256Padded(bytes)
    .map((x) => x.toString(16).padStart(8, '0'))
    .join('');
}

/** The commitment to `code` printed on item `serial` (both already checked against ID and CODE). */
export function commitmentOf(serial: string, code: string): string {
  return sha256Ascii(`trace/v1\n${serial}\n${code}`);
}
