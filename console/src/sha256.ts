/**
 * SHA-256 for the browser over bytes: the state-proof check (src/state/proof.ts) calls its
 * hash synchronously hundreds of times per proof, and WebCrypto's digest is async only. The
 * rounds are src/crypto/sha256-portable.ts, shared with contracts.
 */

import { sha256Padded } from '../../src/crypto/sha256-portable.ts';

/** Pads a message the Merkle–Damgård way shared by SHA-256 and SM3 (big-endian bit length). */
export function mdPad(data: Uint8Array): Uint8Array {
  const blocks = Math.ceil((data.length + 9) / 64);
  const out = new Uint8Array(blocks * 64);
  out.set(data);
  out[data.length] = 0x80;
  const bits = data.length * 8;
  const view = new DataView(out.buffer);
  view.setUint32(out.length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(out.length - 4, bits >>> 0);
  return out;
}

/** SHA-256 of `data`; a fresh 32-byte array. */
export function sha256(data: Uint8Array): Uint8Array {
  const msg = mdPad(data);
  const h = sha256Padded(msg);
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, h[i]);
  return out;
}
